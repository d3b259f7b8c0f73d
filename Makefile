# Minimal top-level Makefile (the lead owns it; replace freely).
include mk/ffi.mk
