"""Media I/O: PyAV frame decoding, Broadcast WAV writing, resampling to exact sample counts; the
picture's hard cuts."""
