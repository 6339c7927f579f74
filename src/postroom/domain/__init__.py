"""The pure core: work items, references, routes, mail as data, the Email Handler.

Nothing in this package performs I/O or imports from the rest of Postroom.
"""
