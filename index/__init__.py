"""The write path: reading a corpus, splitting stories, building the indexes."""
