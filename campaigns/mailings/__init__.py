"""Mailings: bulk email to supporters who asked for it, sent by workers at a controlled rate."""
