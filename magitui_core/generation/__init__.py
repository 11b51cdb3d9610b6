"""Generation: OSS-Instruct samples from random code snippets and a teacher model, exactly once.

Exposes the seed sources (`seeds`), the teacher client and its pool (`teacher`, `teacher_pool`),
token budgets and prices (`token_budget`, `teacher_prices`), the settings a run is asked for
(`settings`), the engine that runs as a job (`engine`), its exactly-once output (`output`),
starting it as a managed job (`jobs`) and a teacher served on this machine (`local_teacher`).
"""
