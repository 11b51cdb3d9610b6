"""A tiny causal LM built offline, for the demo and the tests: a byte-level BPE tokenizer
trained here and a random 2-layer Llama (head_dim 64, which vLLM's CPU backend also accepts).
About 1 MB and a few seconds; it learns nothing useful, it only lets every stage run for real.

torch, tokenizers and transformers are imported inside the builder: it runs in job processes.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

TRAINING_TEXT = """
def add(a, b):
    return a + b

class Stack:
    def __init__(self):
        self.items = []

    def push(self, item):
        self.items.append(item)

    def pop(self):
        return self.items.pop()

Write a solution to the following coding problem:
You are an exceptionally intelligent coding assistant that consistently delivers accurate and
reliable responses to user instructions.
@@ Instruction
@@ Response
for i in range(10):
    print(i * i)
"""


def build_tiny_model(dest: Path, vocab_size: int = 512, corpus: Iterable[str] = ()) -> Path:
    """Write a tokenizer and a randomly initialised LlamaForCausalLM to ``dest``.

    ``corpus``: more text for the tokenizer to learn its merges from; with the code the model
    will be trained on, a few steps teach it whole identifiers rather than single bytes.
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<s>", "</s>", "<pad>"]
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator([*[TRAINING_TEXT] * 20, *corpus], trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)
    dest.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(dest)
    fast.save_pretrained(dest)
    return dest
