"""Evaluation: scores a served model on HumanEval (and evalplus-format HumanEval+/MBPP+ files) by
sending each problem to an OpenAI-compatible endpoint and running the answers in a sandbox; it
exposes the benchmarks (`benchmarks`), the prompt formats (`prompts`), the sandbox (`sandbox`),
the pass@k estimator (`passk`) and the job entry point (`engine`, ``python -m
magitui_core.eval.engine``).
"""
