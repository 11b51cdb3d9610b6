"""Curation: instruction data cleaned, deduplicated, decontaminated and formatted for training.

Exposes the input formats (`formats`), JSONL reading and writing (`jsonl_io`), duplicate removal
(`dedupe`), the benchmark passages (`benchmarks`) and the search for them (`decontaminate`), the
whole pass in Magicoder's order (`pipeline`), the job that runs it (`preprocess`) and the
per-record view the Data screen shows (`data_rows`).
"""
