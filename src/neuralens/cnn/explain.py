"""The CNN study's explanations; the report puts the measured numbers next to them."""

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
    "Chaotic, sharp landscapes (deep nets without skips) trap or derail optimisation. The directions are "
    "normalised to the weights they perturb (per filter or per layer, as the run records), so that nets of "
    "different weight scales are compared fairly; BN parameters and biases are not perturbed, and the model sits "
    "at the centre of the grid."
)
