"""The kanban board app: boards shared by their members, lists, cards and comments, kept
live on every member's open page."""
