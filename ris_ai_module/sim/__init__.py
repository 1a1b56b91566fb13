"""A stand-in for the ultrasound AI host (``ris-ai-module simulate-ai``): receives exam pushes over HTTP(S),
answers C-ECHO, and for each exam sends back what an AI host would: Secondary Capture images of a rendered
measurement panel and a Comprehensive SR with realistic, internally consistent values (deterministic per seed).

Its SR writer is written from PS3.16 on its own, not from the module's reader, so that the two check each other.
"""
