"""ftcourse: the helper library of a hands-on course on fine-tuning LLMs.

One module per idea of the course; notebooks import from here everything
they are not teaching, and later notebooks use the reference versions of what
earlier ones taught. Where each notebook's ideas live:

=============  ==========================================================
notebook       modules
=============  ==========================================================
every one      ``env`` (device, versions), ``models`` (``load``), ``quiz``, ``expect``
00 setup       ``train`` (``generate``), ``world`` (the course's data)
01 decide      ``decide``, ``rag``
02 data        ``chat``, ``dedup``, ``consistency``, ``splits``, ``tokens`` (``lengths``: a count without torch), ``world.messy``
03 mechanics   ``train`` (the fine-tuning loop), ``curves`` (loss curves)
04 lora        ``lora`` (the layer and its injection), ``adapters`` (files, peft), ``world.landai``
05 qlora       ``quant`` (NF4 from scratch), ``memory`` (estimating), ``measure`` (measuring)
06 evals       ``evals``, ``world.annotators``, ``world.support``
07 production  ``serve``, ``distill``, ``drift``
08 interview   ``drill``, ``interview`` (the question bank), ``rubric``, ``cheatsheet``
=============  ==========================================================

Lesson modules sit at the top of the package and never import the two folders
that build the course: ``grading`` (release, run, self-check and grade
notebooks; the sandbox) and ``basemodel`` (the course model's corpus,
tokenizer, pretraining and model card). ``world`` holds the course's seeded
data and the LandAI task. ``cli`` is the ``ftcourse`` command.
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
