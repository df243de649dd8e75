"""Layer records for gradient-model stacks in tests (units as in stack files: nm, uOhm cm, T)."""


def layer(role, name, t, rho, theta, lsf, lj=None, lphi=None, ms=None, **kw):
    d = {"name": name, "role": role, "thickness_nm": t, "rho_uOhm_cm": rho, "theta_SH": theta, "l_sf_nm": lsf}
    if role == "ferromagnet":
        d.update(l_J_nm=lj, l_phi_nm=lphi, mu0Ms_T=ms)
    d.update(kw)
    return d
