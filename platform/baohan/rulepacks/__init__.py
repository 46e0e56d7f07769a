"""Rule packs: the typed description of everything that differs between trading centres."""
