"""DBA scripts per dialect (sql/<dialect>/NN_<what>.sql), shipped as package data."""
