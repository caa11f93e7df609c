"""synspec: a compiler from dataset specs to synthetic medical tables."""
