"""Semantic search: sentence embeddings of transcript passages, an index over them, and
answers to questions that cite the moment they come from."""
