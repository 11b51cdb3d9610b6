"""Chat: talking to a served model, formatted exactly as it was trained.

Exposes the streaming client and transcripts (`client`), the endpoints magitui knows of
(`endpoints`) and the text a model sees when magitui renders the turn (`prompt_format`).
"""
