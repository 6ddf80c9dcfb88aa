"""The explanations the report and docs give, in one place. Numbers never appear here: the report puts the
measured ones next to these texts."""

SHORTCUT_DERIVATION = (
    "With identity shortcuts a block computes x_{l+1} = x_l + F(x_l). Unrolled, x_L = x_l + sum_{i=l}^{L-1} "
    "F(x_i), so dL/dx_l = dL/dx_L * (I + d/dx_l sum_{i=l}^{L-1} F(x_i)). The identity term carries the output "
    "gradient to every block unchanged: it cannot vanish however deep the net, whereas in a plain stack "
    "(VGG) dL/dx_l = dL/dx_L * prod_i dF_i/dx_i, a product of Jacobians that shrinks or grows geometrically "
    "with depth (He et al. 2016, 'Identity mappings in deep residual networks')."
)

LANDSCAPE_WHY = (
    "Why the landscape matters: a smooth, wide basin (small loss rise around the minimum, small top Hessian "
    "eigenvalue) lets SGD use larger learning rates without diverging, makes training less sensitive to the "
    "learning-rate choice, and has been linked to better generalisation (Li et al. 2018; Keskar et al. 2017). "
    "Chaotic, sharp landscapes (deep nets without skips) trap or derail optimisation. The plots use "
    "filter-normalised random directions so that nets of different weight scales are compared fairly; BN "
    "parameters and biases are not perturbed, and the model sits at the centre of the grid."
)

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

NERF_RENDERING = (
    "Volume rendering: along a ray with samples t_i and spacing delta_i, each sample has density sigma_i and "
    "colour c_i; T_i = exp(-sum_{j<i} sigma_j delta_j) is the light that survives to sample i, alpha_i = "
    "1 - exp(-sigma_i delta_i) the share absorbed there, and the pixel is C = sum_i T_i alpha_i c_i. The same "
    "weights w_i = T_i alpha_i give the expected depth sum_i w_i t_i and the opacity sum_i w_i."
)

NERF_OTHER_SCENE = (
    "Can one trained NeRF render a different scene? No. A NeRF's weights are a function fitted by "
    "optimisation to one scene: they map a 3-D point (and direction) to that scene's density and colour. "
    "Nothing in the input says which scene is meant, and the network never sees images at render time, so "
    "given another scene's cameras it renders its own scene from those viewpoints (or empty space). "
    "Generalisable methods such as pixelNeRF (Yu et al. 2021) and IBRNet (Wang et al. 2021) instead condition "
    "the field on features of the new scene's input images, so the network learns how to infer a scene "
    "rather than memorising one."
)

NERF_IMPROVEMENTS = {
    "tiny": "The baseline: a faithful port of the tiny_nerf notebook (8x256 ReLU MLP, gamma(x) with L=6 and no "
            "pi, 64 jittered samples in [2, 6], Adam 5e-4, no view directions), trained on random ray batches.",
    "tiny_hier": "Hierarchical sampling (NeRF's second pass): a coarse pass with 64 stratified samples gives "
                 "weights, 64 more samples are drawn from them by inverse-CDF sampling and a second MLP renders "
                 "all 128. Samples concentrate on surfaces, at twice the network evaluations per ray.",
    "tiny_viewdirs": "View directions: the MLP's colour head also takes gamma(d), so specular highlights can move "
                     "with the viewer; density stays a function of position only.",
    "vm_dense": "A factorised grid field (TensoRF VM): density and appearance are sums of plane x line products "
                "read with grid_sample, colour from a 2-layer MLP with view direction; every sample evaluated.",
    "fast": "The grid field plus empty-space skipping: an occupancy grid (64^3, refreshed every 16 steps from "
            "the field's own density) drops samples in empty cells before the field is called, rays are "
            "rendered packed with per-ray sample counts, and the learning rate decays to 0.1x over the budget.",
}
