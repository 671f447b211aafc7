"""Anju (安居): the backend of a city's rental-housing system."""
