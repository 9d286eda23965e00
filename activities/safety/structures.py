"""What a campaign's starting structure is, before anything runs: its size and cell (for the DFT cost
guard), and the problems ASE would otherwise hide, such as a CIF with partially occupied sites, which
ASE silently reads as one species per site."""
from activities.runtime.protocol import HelperError


def occupancy_problem(atoms, where):
    """A sentence when any site is partially occupied or shared by several species, else None."""
    occ = atoms.info.get("occupancy")
    if not isinstance(occ, dict):
        return None
    for site, species in occ.items():
        if not isinstance(species, dict):
            continue
        total = sum(float(v) for v in species.values())
        if len(species) > 1 or total < 1 - 1e-6:
            shares = ", ".join(f"{el}: {float(v):g}" for el, v in species.items())
            return (f"{where}: partial occupancy on site {site} ({shares}); ASE would keep one species per site "
                    f"({atoms.get_chemical_formula()}). Give an ordered structure (one species per site, occupancy 1), "
                    f"or a pure cell plus generation.substitution for a random alloy")
    return None


def check_occupancy(atoms, where):
    problem = occupancy_problem(atoms, where)
    if problem:
        raise HelperError("InvalidInput", problem)


def describe(p):
    """Input: the generator's starting-cell recipe (structure_file|prototype, elements, supercell, index,
    min_distance). Output: natoms, cell (Å), symbols of the starting cell times the supercell."""
    from activities.structures.generator import starting_cell

    base = starting_cell(p).repeat(tuple(p.get("supercell") or (1, 1, 1)))
    return {"natoms": len(base), "cell": base.cell.array.tolist(), "symbols": base.get_chemical_symbols(), "pbc": [bool(x) for x in base.pbc]}
