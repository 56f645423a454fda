"""Japanese FAQ retrieval: SudachiPy + BM25 and sentence embeddings, fused per municipality."""
