"""A small kanban board: cards in three columns, live for every member of the board."""
