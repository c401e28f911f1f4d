"""ctxtop's own API session logs (written by ``ctxtop.api``): schema, reader, SDK wrapper, server compaction."""
