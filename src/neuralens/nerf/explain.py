"""The NeRF explanations; the report puts the measured numbers next to them."""

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
            "rendered packed with per-ray sample counts, and the learning rate decays to 0.1x over the budget. "
            "Colour is looked up only for samples whose rendering weight reaches 1e-4 (TensoRF's appearance "
            "mask): samples behind a surface or in near-empty space cost only the density lookup. The grids start "
            "coarse (64 cells per axis) and are resampled to 96 and 128 at 10% and 25% of the budget "
            "(TensoRF's coarse-to-fine): the coarse grid settles the shape in cheap, well-conditioned steps.",
}
