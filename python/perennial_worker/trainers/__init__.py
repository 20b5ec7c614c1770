"""Trainers: perennial's own (`lightgbm`) and a user's function (`python`)."""
