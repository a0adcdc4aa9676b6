"""A small installed app whose models the data tests run against."""
