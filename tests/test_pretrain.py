"""Pretraining packs documents into rows; each must still see only itself."""
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from ftcourse.basemodel.pretrain import copy_rows, document_positions


def test_positions_restart_at_each_begin_token_and_a_cut_document_starts_at_zero():
    rows = torch.tensor([[5, 6, 1, 7, 8, 1, 9], [1, 2, 3, 4, 1, 5, 6]])
    assert document_positions(rows, bos_id=1).tolist() == [[0, 1, 0, 1, 2, 0, 1], [0, 1, 2, 3, 0, 1, 2]]


def test_a_packed_document_reads_exactly_as_it_does_alone():
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=32, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                         num_attention_heads=4, bos_token_id=1)).eval()
    first, second = [1, 7, 8, 9], [1, 10, 11, 12, 13]
    row = torch.tensor([first + second])
    with torch.no_grad():
        alone = model(torch.tensor([second]), use_cache=False).logits[0]
        packed = model(row, position_ids=document_positions(row, bos_id=1), use_cache=False).logits[0, len(first):]
        leaky = model(row, use_cache=False).logits[0, len(first):]
    assert torch.allclose(packed, alone, atol=1e-5)
    assert not torch.allclose(leaky, alone, atol=1e-3), "plain packing lets the second document read the first"


def test_copy_rows_grade_only_the_second_copy_and_vary_in_length():
    import random

    from ftcourse.models import load

    _, tokenizer = load()
    ids, labels = copy_rows(6, 128, tokenizer, random.Random(0))
    assert ids.shape == labels.shape == (6, 128)
    newline = tokenizer.convert_tokens_to_ids("Ċ")
    lengths = set()
    for row, target in zip(ids.tolist(), labels.tolist()):
        starts = [i for i, t in enumerate(row) if t == tokenizer.bos_token_id] + [len(row)]
        for start, end in zip(starts, starts[1:]):
            doc, graded = row[start:end], target[start:end]
            text = doc[1:doc.index(newline)]
            copy_at = 2 + len(text)
            assert doc[copy_at:copy_at + len(text)] == text, "the string, a line break, the same string"
            assert graded[:copy_at + 1] == [-100] * (copy_at + 1), "nothing before the copy's second token is graded"
            assert graded[copy_at + 1:copy_at + len(text)] == text[1:]
            lengths.add(len(text))
    assert len(lengths) > 5, "random lengths: no fixed offset to copy from"
    again, _ = copy_rows(6, 128, tokenizer, random.Random(0))
    assert torch.equal(ids, again), "seeded"
