"""Pretraining packs documents into rows; each must still see only itself."""
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from ftcourse.pretrain import document_positions


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
