"""Training: supervised fine-tuning under accelerate + DeepSpeed, from settings to a saved model.

Exposes the Magicoder recipe's numbers, batch arithmetic and effective record (`recipe`), the
settings (`settings`), the accelerate and DeepSpeed configuration
(`accelerate_config`), the memory advisor (`memory_advisor`), the checks before a launch
(`preflight`), the launch command (`launch`), the entry point the job runs (`sft`) with its
examples, packing and progress events (`sft_data`, `packing`, `progress`), and reading a run
back: its curves (`series`) and the cause of a failure (`diagnosis`).
"""
