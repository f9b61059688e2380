"""NF4 from scratch agrees with bitsandbytes: codebook, codes, constants, packing, bytes.

How this matches bitsandbytes 0.50 (``bitsandbytes.functional.quantize_4bit``), checked here:

- Codebook: ``nf4_code()`` rebuilds bitsandbytes' table bit for bit (quantiles in float64,
  rounded to float32, then divided by the largest).
- Rounding: each value is multiplied by ``1 / absmax`` (a reciprocal, as bitsandbytes' CUDA and
  PyTorch kernels do, not a division), clamped to [-1, 1] and sent to the nearest code; a value
  exactly halfway goes to the lower code (bitsandbytes tests ``x > midpoint``). On CPU the 4-bit
  codes and absmax are identical to bitsandbytes'. Two places where one float32 rounding step can
  move a value that lies on a midpoint: bitsandbytes divides instead in a last, partial block, and
  its CUDA kernel types the midpoints as decimal constants.
- Packing: two codes per byte, the first of each pair in the high nibble; an odd count is padded
  with the code of 0.0. bitsandbytes returns the bytes as an ``(n/2, 1)`` column; here they are flat.
- Double quantization: ``offset = absmax.mean()``, then ``absmax - offset`` in blocks of 256 with
  bitsandbytes' signed 8-bit "dynamic" code (``create_dynamic_map``), nearest code, ties down.
  That is exactly what bitsandbytes' PyTorch kernel computes. Its compiled CPU kernel, which
  ``quantize_4bit`` uses on CPU, searches the code approximately and picks a farther code for
  about 0.1-1% of the absmax values (mostly nearly equidistant pairs), so there the 8-bit codes
  differ; the 4-bit codes never do.
- Dequantization: code value times its block's absmax, equal to bitsandbytes' PyTorch kernel.
  Its AVX-512 CPU kernel scales some values by a neighbouring block's absmax when a row's length
  is even but not a multiple of the block size, so there it is farther from the weights.
"""
import bitsandbytes.functional as bnbf
import pytest
import torch

from ftcourse import quant

SHAPES = [((256, 96), torch.float32), ((1000, 37), torch.float32), ((333,), torch.bfloat16), ((64, 65), torch.float16)]


def weight(shape, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g).to(dtype)


def test_codebook_is_bitsandbytes_nf4_bit_for_bit():
    assert torch.equal(quant.nf4_code(), bnbf.get_4bit_type("nf4", device="cpu"))


@pytest.mark.parametrize("shape,dtype", SHAPES)
def test_codes_and_absmax_match_bitsandbytes(shape, dtype):
    w = weight(shape, dtype)
    ours = quant.nf4_quantize(w)
    packed, state = bnbf.quantize_4bit(w, blocksize=64, quant_type="nf4")
    assert torch.equal(ours.packed, packed.reshape(-1)), "packed 4-bit codes differ from bitsandbytes'"
    assert torch.equal(ours.absmax, state.absmax)
    assert torch.equal(quant.nf4_dequantize(ours), reference_dequantize(packed, state))


def reference_dequantize(packed, state):
    """bitsandbytes' PyTorch dequantization, whatever compiled kernel this CPU would pick."""
    keys = torch._C.DispatchKeySet(torch._C.DispatchKey.CompositeExplicitAutograd)
    return torch.ops.bitsandbytes.dequantize_4bit.default.redispatch(keys, packed, state.absmax, state.blocksize, "nf4", state.shape, state.dtype)


@pytest.mark.parametrize("shape,dtype", SHAPES)
def test_where_the_compiled_kernel_disagrees_it_is_farther_from_the_weights(shape, dtype):
    # On CPUs with AVX-512, bitsandbytes 0.50 dequantizes with a compiled kernel that, for an even
    # row length that is not a multiple of the block size, scales some values by a neighbouring
    # block's absmax. Elsewhere (and on other CPUs) it equals the PyTorch path exactly.
    w = weight(shape, dtype)
    packed, state = bnbf.quantize_4bit(w, blocksize=64, quant_type="nf4")
    compiled, reference = bnbf.dequantize_4bit(packed, state).float(), reference_dequantize(packed, state).float()
    if not torch.equal(compiled, reference):
        assert (compiled - w.float()).abs().mean() > (reference - w.float()).abs().mean()


def test_zero_block_and_halfway_values():
    code = quant.nf4_code()
    halfway = (code[:-1] + code[1:]) / 2
    w = torch.cat([torch.zeros(64), halfway, torch.ones(1)])  # last block: absmax 1, values on midpoints
    ours = quant.nf4_quantize(w)
    packed, state = bnbf.quantize_4bit(w, blocksize=64, quant_type="nf4")
    assert torch.equal(ours.packed, packed.reshape(-1))
    codes = quant.unpack(ours.packed, w.numel())
    assert torch.equal(codes[:64], torch.full((64,), 7, dtype=torch.uint8)), "an all-zero block maps to the code of 0.0"
    assert torch.equal(codes[64:79], torch.arange(15, dtype=torch.uint8)), "a value halfway between codes goes to the lower one"


def test_packing_puts_the_first_code_in_the_high_nibble():
    codes = torch.tensor([1, 2, 15, 0], dtype=torch.uint8)
    assert quant.pack(codes).tolist() == [0x12, 0xF0]
    assert torch.equal(quant.unpack(quant.pack(codes), 3), codes[:3])


@pytest.mark.parametrize("shape,dtype", SHAPES + [((2048, 515), torch.float32)])
def test_double_quant_matches_bitsandbytes(shape, dtype):
    w = weight(shape, dtype, seed=1)
    ours = quant.nf4_quantize(w, double_quant=True)
    packed, state = bnbf.quantize_4bit(w, blocksize=64, compress_statistics=True, quant_type="nf4")
    assert torch.equal(ours.packed, packed.reshape(-1)), "double quantization must not change the 4-bit codes"
    assert torch.equal(ours.absmax_offset, state.offset)
    assert torch.equal(ours.absmax_scale, state.state2.absmax)

    # Our 8-bit absmax codes are exactly bitsandbytes' PyTorch kernel ...
    _, absmax = quant.blockwise_absmax(w, 64)
    reference = torch.ops.bitsandbytes.quantize_blockwise.default.redispatch(
        torch._C.DispatchKeySet(torch._C.DispatchKey.CompositeExplicitAutograd), absmax - absmax.mean(), quant.absmax_code(), 256
    )[0]
    assert torch.equal(ours.absmax, reference)
    # ... and where its compiled CPU kernel (used by quantize_4bit) differs, ours is never farther from the value.
    scaled, _ = quant.blockwise_absmax(absmax - absmax.mean(), 256)
    code = quant.absmax_code()
    assert (ours.absmax == state.absmax).double().mean() > 0.97
    assert ((scaled - code[ours.absmax.long()]).abs() <= (scaled - code[state.absmax.long()]).abs()).all()


def test_bits_per_weight_are_the_papers_4_127_with_double_quant():
    w = weight((4096, 256), torch.float32)
    assert quant.nf4_quantize(w).bits_per_weight() == pytest.approx(4 + 32 / 64)
    assert quant.nf4_quantize(w, double_quant=True).bits_per_weight() == pytest.approx(4 + 8 / 64 + 32 / (64 * 256), abs=1e-4)


def test_reconstruction_is_close_and_keeps_dtype():
    w = weight((512, 128), torch.bfloat16)
    back = quant.nf4_dequantize(quant.nf4_quantize(w, double_quant=True))
    assert back.dtype == torch.bfloat16 and back.shape == w.shape
    assert (back.float() - w.float()).abs().mean() < 0.1 * w.float().abs().mean()


def test_integer_input_is_refused():
    with pytest.raises(TypeError, match="floating-point"):
        quant.nf4_quantize(torch.ones(64, dtype=torch.int64))


def test_comparison_table_reports_identical_codes_and_bytes():
    table = quant.compare_with_bitsandbytes(weight((512, 64), torch.float32))
    assert table.loc["4-bit codes equal to bitsandbytes'", "ftcourse.quant"] == 1.0
    row = table.loc["bytes (codes + constants)"]
    assert row["ftcourse.quant"] == row["bitsandbytes"]
