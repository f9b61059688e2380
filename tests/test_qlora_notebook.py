"""05-qlora's hidden tests catch the plausible wrong answers, not only the blank ones (see tests/mutants.py)."""
from mutants import mutant_tests

NOTEBOOK = "solutions/05-qlora/05-qlora.ipynb"

# name: (answer cell, text in it, the mistake, test cells that must fail)
MUTANTS = {
    "double quantization forgotten": ("nf4_bytes_per_weight", "bits += 8 / blocksize + 32 / (blocksize * 256)", "bits += 32 / blocksize", {"nf4_bytes_per_weight_tests"}),
    "second-level scale per 256 weights": ("nf4_bytes_per_weight", "32 / (blocksize * 256)", "32 / 256", {"nf4_bytes_per_weight_tests"}),
    "block size fixed at 64": ("nf4_bytes_per_weight", "bits += 32 / blocksize", "bits += 32 / 64", {"nf4_bytes_per_weight_tests"}),
    "bits, not bytes": ("nf4_bytes_per_weight", "return bits / 8", "return bits", {"nf4_bytes_per_weight_tests"}),
    "frozen values get gradients": ("training_bytes", '"gradients": trained,', '"gradients": weights,', {"training_bytes_tests"}),
    "trained values left out of the weights": ("training_bytes", "weights = int(n_frozen * frozen_bytes) + trained", "weights = int(n_frozen * frozen_bytes)", {"training_bytes_tests"}),
    "one AdamW moment": ("training_bytes", '"optimizer state": 2 * trained', '"optimizer state": trained', {"training_bytes_tests"}),
    "moments always fp32": ("training_bytes", '"optimizer state": 2 * trained', '"optimizer state": 8 * n_trained', {"training_bytes_tests"}),
    "absmax of the whole tensor": ("nf4_codes", "absmax = blocks.abs().amax(dim=1)", "absmax = blocks.abs().amax().expand(blocks.shape[0])", {"nf4_codes_tests"}),
    "uniform levels instead of NF4": ("nf4_codes", "(scaled.unsqueeze(1) - code)", "(scaled.unsqueeze(1) - torch.linspace(-1, 1, 16))", {"nf4_codes_tests"}),
    "low nibble first": ("pack_codes", "(codes[0::2] << 4) | codes[1::2]", "(codes[1::2] << 4) | codes[0::2]", {"pack_codes_tests"}),
    "absmax not applied": ("nf4_dequantize_codes", " * absmax.unsqueeze(1)", "", {"nf4_dequantize_codes_tests"}),
    "first component, not the largest": ("largest_component", "return str(max(parts, key=parts.get))", "return str(next(iter(parts)))", {"largest_component_tests"}),
    "temporaries skipped": ("largest_component", "parts = breakdown.components()", "parts = {k: v for k, v in breakdown.components().items() if k != 'temporaries'}", {"largest_component_tests"}),
    "ratio instead of saving": ("peak_saving", 'return float(1 - peak[method] / peak["full"])', 'return float(peak[method] / peak["full"])', {"peak_saving_tests"}),
    "rows by position": ("peak_saving", 'peak = steps.set_index("method")["peak MB"]', 'peak = pd.Series(steps["peak MB"].values, index=["full", "lora", "qlora"])', {"peak_saving_tests"}),
    "total instead of peak": ("first_to_pay_off", "if q.peak <= fraction * l.peak:", "if q.total <= fraction * l.total:", {"first_to_pay_off_tests"}),
    "LoRA without checkpointing": ("first_to_pay_off", 'weight_dtype="bfloat16", batch_size=1, seq_len=512, gradient_checkpointing=True)', 'weight_dtype="bfloat16", batch_size=1, seq_len=512)', {"first_to_pay_off_tests"}),
    "the context inflated too": ("gpu_for_qlora", "need = peak / 1e9 * (1 + allocator_overhead) + cuda_context_gb", "need = (peak / 1e9 + cuda_context_gb) * (1 + allocator_overhead)", {"gpu_for_qlora_tests"}),
    "context forgotten": ("gpu_for_qlora", " + cuda_context_gb", "", {"gpu_for_qlora_tests"}),
    "overhead forgotten": ("gpu_for_qlora", " * (1 + allocator_overhead)", "", {"gpu_for_qlora_tests"}),
    "GiB instead of GB": ("gpu_for_qlora", "need = peak / 1e9", "need = peak / 2**30", {"gpu_for_qlora_tests"}),
    "the first that fits, in the order given": ("gpu_for_qlora", "for g in sorted(gpus)", "for g in gpus", {"gpu_for_qlora_tests"}),
    "total instead of the peak": ("gpu_for_qlora", "gradient_checkpointing=True).peak", "gradient_checkpointing=True).total", {"gpu_for_qlora_tests"}),
    "no gradient checkpointing": ("gpu_for_qlora", "gradient_checkpointing=True).peak", "gradient_checkpointing=False).peak", {"gpu_for_qlora_tests"}),
    "rank ignored": ("gpu_for_qlora", "lora_r=lora_r, ", "", {"gpu_for_qlora_tests"}),
}

# peak_saving's hidden test reads the measured table `steps`; a small stand-in keeps training out of the mutant runs.
STEPS = 'import pandas as pd\nsteps = pd.DataFrame({"method": ["full", "lora", "qlora"], "weights+optimizer MB": [50.0, 20.0, 8.0], "peak MB": [120.0, 52.0, 22.0]})'


def _context(cells):
    """The imports, the NF4 codebook, and a stand-in for the measured table."""
    imports = next(i for i, c in enumerate(cells) if c.cell_type == "code")
    codebook = next(i for i, c in enumerate(cells) if c.source.startswith("code = quant.nf4_code()"))
    return [imports, codebook, STEPS]


grade, test_the_solution_earns_every_point, test_a_plausible_mistake_loses_points = mutant_tests(
    "05-qlora", MUTANTS, exercises=9, context=_context, each_alone=True)
