"""NF4 from scratch: QLoRA's 4-bit NormalFloat weights, blockwise absmax, double quantization.

QLoRA (Dettmers et al. 2023, arXiv:2305.14314, section 3) stores a frozen weight as 4-bit indices
into a 16-value codebook whose values are quantiles of N(0, 1): pretrained weights are roughly
normal, so each code gets about the same share of them. Every block of 64 weights is divided by its
largest magnitude (its *absmax*) first, so one outlier only spoils its own block. The absmax
constants cost 32 bits per 64 weights = 0.5 bit per weight; *double quantization* stores them as
8-bit codes (after subtracting their mean) with one fp32 scale per 256 of them:
8/64 + 32/(64*256) = 0.127 bit, so 4.127 bits per weight in all.

It computes what bitsandbytes' ``quantize_4bit`` computes: the same codebook, codes, constants and
packing. ``tests/test_quant.py`` checks that, and says where bitsandbytes' compiled kernels round
differently.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

BLOCKSIZE = 64
ABSMAX_BLOCKSIZE = 256
# The paper's offset: halfway between 1 - 1/(2*15) and 1 - 1/(2*16), so that the outermost
# quantile is finite; bitsandbytes uses this value.
NF4_OFFSET = 0.9677083


def nf4_code() -> torch.Tensor:
    """The 16 NF4 values in [-1, 1]: 8 positive and 7 negative normal quantiles plus an exact zero.

    An asymmetric split gives zero its own code (padding and zero weights stay exact).
    """
    normal = torch.distributions.Normal(torch.tensor(0.0, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64))
    positive = normal.icdf(torch.linspace(NF4_OFFSET, 0.5, 9)[:-1].double())
    negative = -normal.icdf(torch.linspace(NF4_OFFSET, 0.5, 8)[:-1].double())
    values = torch.cat([negative, torch.zeros(1, dtype=torch.float64), positive]).float().sort().values
    return values / values.max()


def absmax_code() -> torch.Tensor:
    """The signed 8-bit "dynamic" code bitsandbytes uses for the double-quantized absmax values."""
    from bitsandbytes.functional import create_dynamic_map

    return create_dynamic_map(signed=True)


def nearest_code(x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
    """Index of the nearest value in the sorted ``code``; exactly halfway goes to the lower one."""
    midpoints = (code[:-1] + code[1:]) / 2
    return torch.bucketize(x, midpoints).to(torch.uint8)


def blockwise_absmax(x: torch.Tensor, blocksize: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``x`` flattened and scaled block by block into [-1, 1], and each block's absmax (fp32).

    A last, shorter block gets its own absmax; an all-zero block keeps absmax 0 and scales to 0.
    """
    flat = x.reshape(-1).float()
    blocks = torch.nn.functional.pad(flat, (0, -flat.numel() % blocksize)).view(-1, blocksize)
    absmax = blocks.abs().amax(dim=1)
    scaled = blocks * (1.0 / absmax.clamp(min=1e-38)).unsqueeze(1)
    return scaled.clamp(-1, 1).reshape(-1)[: flat.numel()], absmax


def pack(codes: torch.Tensor) -> torch.Tensor:
    """Two 4-bit codes per byte, the first in the high nibble."""
    if codes.numel() % 2:
        raise ValueError(f"pack needs an even number of codes, got {codes.numel()}")
    return (codes[0::2] << 4) | codes[1::2]


def unpack(packed: torch.Tensor, n: int) -> torch.Tensor:
    """The first ``n`` 4-bit codes stored in ``packed``."""
    return torch.stack([packed >> 4, packed & 0x0F], dim=1).reshape(-1)[:n]


@dataclass
class NF4Tensor:
    """A weight stored as NF4: packed codes plus the constants needed to read it back.

    Without double quantization ``absmax`` is fp32, one per block. With it, ``absmax`` holds uint8
    codes and ``absmax_scale`` (fp32, one per 256 blocks) and ``absmax_offset`` (one fp32) restore it.
    """

    packed: torch.Tensor
    absmax: torch.Tensor
    shape: torch.Size
    dtype: torch.dtype
    blocksize: int = BLOCKSIZE
    absmax_scale: torch.Tensor | None = None
    absmax_offset: torch.Tensor | None = None

    @property
    def double_quant(self) -> bool:
        return self.absmax_scale is not None

    def nbytes(self) -> dict[str, int]:
        """Bytes of each stored part; the codebooks are shared constants and not counted."""
        parts = {"codes": self.packed, "absmax": self.absmax}
        if self.double_quant:
            parts |= {"absmax scales": self.absmax_scale, "absmax offset": self.absmax_offset}
        return {name: t.numel() * t.element_size() for name, t in parts.items()}

    def bits_per_weight(self) -> float:
        return 8 * sum(self.nbytes().values()) / self.shape.numel()


def quantize_absmax(absmax: torch.Tensor, blocksize: int = ABSMAX_BLOCKSIZE) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Double quantization: 8-bit codes, per-block fp32 scales and the subtracted mean."""
    offset = absmax.mean()
    scaled, scales = blockwise_absmax(absmax - offset, blocksize)
    return nearest_code(scaled, absmax_code()), scales, offset


def dequantize_absmax(codes: torch.Tensor, scales: torch.Tensor, offset: torch.Tensor, blocksize: int = ABSMAX_BLOCKSIZE) -> torch.Tensor:
    values = absmax_code()[codes.long()]
    return values * scales.repeat_interleave(blocksize)[: codes.numel()] + offset


def nf4_quantize(weight: torch.Tensor, blocksize: int = BLOCKSIZE, double_quant: bool = False) -> NF4Tensor:
    """Quantize ``weight`` (any shape, float) to NF4 in blocks of ``blocksize`` values."""
    if not weight.is_floating_point():
        raise TypeError(f"nf4_quantize needs a floating-point tensor, got {weight.dtype}")
    scaled, absmax = blockwise_absmax(weight, blocksize)
    if scaled.numel() % 2:
        scaled = torch.cat([scaled, scaled.new_zeros(1)])
    packed = pack(nearest_code(scaled, nf4_code()))
    q = NF4Tensor(packed, absmax, weight.shape, weight.dtype, blocksize)
    if double_quant:
        q.absmax, q.absmax_scale, q.absmax_offset = quantize_absmax(absmax)
    return q


def nf4_dequantize(q: NF4Tensor) -> torch.Tensor:
    """The weight NF4 represents: code value times its block's absmax, in the original dtype."""
    n = q.shape.numel()
    absmax = dequantize_absmax(q.absmax, q.absmax_scale, q.absmax_offset) if q.double_quant else q.absmax
    values = nf4_code()[unpack(q.packed, n).long()]
    return (values * absmax.repeat_interleave(q.blocksize)[:n]).reshape(q.shape).to(q.dtype)


def compare_with_bitsandbytes(weight: torch.Tensor, blocksize: int = BLOCKSIZE, double_quant: bool = True):
    """Quantize ``weight`` with this module and with bitsandbytes; codes, error and bytes side by side.

    Returns a DataFrame with one row per measure and one column per implementation.
    """
    import bitsandbytes.functional as bnbf
    import pandas as pd

    ours = nf4_quantize(weight, blocksize, double_quant)
    packed, state = bnbf.quantize_4bit(weight, blocksize=blocksize, compress_statistics=double_quant, quant_type="nf4")
    theirs = bnbf.dequantize_4bit(packed, state)
    mine = nf4_dequantize(ours)

    n = weight.numel()
    same_codes = (unpack(ours.packed, n) == unpack(packed.reshape(-1).to(ours.packed.device), n)).double().mean().item()
    bnb_absmax = state.absmax.reshape(-1)
    same_absmax = (ours.absmax == bnb_absmax).double().mean().item()
    bnb_bytes = packed.numel() * packed.element_size() + bnb_absmax.numel() * bnb_absmax.element_size()
    if double_quant:
        bnb_bytes += state.state2.absmax.numel() * 4 + state.offset.numel() * 4
    nan = float("nan")
    stored = "absmax 8-bit codes" if double_quant else "absmax values"
    rows = {
        "4-bit codes equal to bitsandbytes'": (same_codes, nan),
        f"{stored} equal to bitsandbytes'": (same_absmax, nan),
        "mean |w - dequantized|": ((mine.float() - weight.float()).abs().mean().item(), (theirs.float() - weight.float()).abs().mean().item()),
        "max |w - dequantized|": ((mine.float() - weight.float()).abs().max().item(), (theirs.float() - weight.float()).abs().max().item()),
        "bytes (codes + constants)": (sum(ours.nbytes().values()), bnb_bytes),
        "bits per weight": (ours.bits_per_weight(), 8 * bnb_bytes / n),
    }
    return pd.DataFrame.from_dict(rows, orient="index", columns=["ftcourse.quant", "bitsandbytes"])
