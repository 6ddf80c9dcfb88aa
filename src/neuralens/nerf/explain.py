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
