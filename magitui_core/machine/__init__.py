"""Machine: what the box has and whether it is fit to train.

Exposes GPUs through NVML (`gpu`), partitions and their roles (`disks`), CPU, memory and load
(`system_stats`) and every environment check in one list (`doctor`).
"""
