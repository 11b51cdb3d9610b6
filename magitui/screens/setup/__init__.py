"""The Setup screen and its steps: storage, credentials, distributed training, memory, review."""
