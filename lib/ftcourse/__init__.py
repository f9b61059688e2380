"""ftcourse: the helper library of a hands-on course on fine-tuning LLMs.

One module per idea of the course; notebooks import from here everything
they are not teaching, and later notebooks use the reference versions of what
earlier ones taught.
"""

__version__ = "0.1.0"
