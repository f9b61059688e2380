"""The course's base model, built from nothing: ``ftcourse build-base-model``; no notebook imports it.

- ``corpus``: the pretraining text (general English plus the world in prose).
- ``tokenizer``: byte-level BPE with the course's chat template.
- ``pretrain``: a small Llama pretrained on the corpus.
- ``modelcard``: what the model can do, measured, and the card that reports it.
"""
