"""The course world: seeded generators with exact ground truth for every exercise.

Same seed, same data: ``parcels``, ``commits`` and ``tickets`` are pure
functions of their arguments, so a notebook, a test and the pretraining corpus
always agree on what parcel 4412 is or which commits are fixes.
"""
from .commits import Commit, commits
from .files import DATA_DIR, load
from .parcels import Parcel, parcel, parcels, pretraining_parcels
from .tickets import Ticket, tickets

__all__ = ["DATA_DIR", "Commit", "Parcel", "Ticket", "commits", "load", "parcel", "parcels", "pretraining_parcels",
           "tickets"]
