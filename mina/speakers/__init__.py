"""Who spoke when: voice embeddings of speech windows (``encoder``), and what is built on them."""
