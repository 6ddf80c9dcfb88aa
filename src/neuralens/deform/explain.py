"""The deformable-convolution explanations the report and docs give; numbers never appear here."""

OFFSET_CHANNELS = (
    "Why the offset conv has 2*kh*kw output channels: a kh x kw kernel has kh*kw taps, and at every output "
    "location each tap gets its own displacement (dy, dx): 2 numbers per tap, so 2*kh*kw numbers per pixel, "
    "which is a feature map with 2*kh*kw channels at the output resolution. Worked example, 3x3 kernel: 9 taps "
    "-> 18 offset channels; channel 2k holds dy and channel 2k+1 holds dx of tap k = 3i + j (row-major), so tap "
    "(1, 2) uses channels 10 and 11 and samples the input at (y0 + 0 + dy, x0 + 1 + dx) for the output pixel "
    "whose regular tap would sit at (y0, x0 + 1). With G offset groups (channels split into G groups that "
    "deform independently) there are 2*G*kh*kw channels; DCNv2 adds G*kh*kw mask channels (one modulation "
    "scalar per tap), 27 for a 3x3 kernel with one group."
)

OFFSET_IS_CONV = (
    "Why the offset predictor is a convolution: the offsets must depend on local image content (where the "
    "edge or part is) and follow it when it moves. A conv is exactly a spatially shared, translation-"
    "equivariant map from a local neighbourhood of features to a vector per pixel: shifting the input shifts "
    "the predicted offset field with it, and the same weights serve every position, so it adds only "
    "C_in*kh*kw*2*kh*kw parameters. It uses the same kernel, stride, padding and dilation as the deformable "
    "conv so its output grid is the deformable conv's output grid, one offset set per output pixel. "
    "Initialised to zero, the layer starts as an ordinary convolution and learns to deform only when that "
    "lowers the loss."
)
