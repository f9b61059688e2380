"""ftcourse: the helper library of a hands-on course on fine-tuning LLMs.

One module per idea of the course; notebooks import from here everything
they are not teaching, and later notebooks use the reference versions of what
earlier ones taught.
"""
import logging

__version__ = "0.1.0"

# On CPUs with AVX512-BF16, importing bitsandbytes (peft and transformers do) tries to fetch an
# optional kernel from the Hugging Face Hub and logs its failure to stderr. Offline that is always
# the case and changes nothing (bitsandbytes uses its built-in kernel), but nbgrader fails any cell
# that writes to stderr, so the course drops that one message.
logging.getLogger("bitsandbytes.backends.cpu.ops").addFilter(
    lambda record: not record.getMessage().startswith("Failed to load CPU gemm_4bit_forward from kernels-community")
)
