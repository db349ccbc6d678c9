"""Build the built-in dataset ``jjj-2022`` (src/resynergy/datasets/jjj-2022/*.csv).

Deterministic: the committed CSVs are this script's output. Run from the repo root:

    python scripts/build_dataset.py

Every figure below carries a source key (``[key]``) explained in the dataset's SOURCES.md, and a
confidence tag V / P / U as in shared/domain/facts.md. Quantities are written in Mt (million
tonnes) here for readability and stored in t.

Method in short (details in SOURCES.md):
1. Province ISW generation of each year: the published figure of scripts/dataset/statistics.csv
   where there is one; a province published for another year follows the national trend from
   it; the others are estimates (PROVINCE_ISW) × the national trend. Steel slag, BF slag and
   coal gangue = sourced activity × factor (statistics.csv, factors.csv); the residual of the
   provincial total is split over the other materials by the industry-mix share (SPLIT).
2. Each province-material total goes to prefectures pro rata to weights (WEIGHTS, by sector:
   mining, steel, power, coal, alumina, smelting, phosphate). City figures from the sources
   (ANCHORS) are kept exactly when they fit in the province total; when they do not fit, they
   become weights on the same scale (the scale factor is reported in SOURCES.md); published
   prefecture figures (scripts/dataset/statistics-prefecture.csv, when present) do the same.
3. Each year is built from its own provincial total and activity (step 1).
4. Recycled resources: regional total × material shares × province shares × city shares.
5. Urban wastes: per-capita factors × resident population of the large cities.
6. Bulk routes (gangue power, backfill, admixtures, plasterboard): existing capacity calibrated so
   that each province can take the ISW it is published (or estimated) to use, and grown in 2021
   and 2022 with that use (bulk_routes).
"""

from __future__ import annotations

import csv
import math
import re
from collections import defaultdict
from functools import cache
from pathlib import Path

from resynergy import datasets
from resynergy.batteries import forecast
from resynergy.scenario import uscc

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "resynergy" / "datasets" / "jjj-2022"
SCHEMA = ROOT / "src" / "resynergy" / "schema" / "tables.csv"
PROCESSES = ROOT / "src" / "resynergy" / "catalog" / "data" / "processes.csv"
PROCESS_IO = ROOT / "src" / "resynergy" / "catalog" / "data" / "process_io.csv"
MT = 1e6
YEARS = (2020, 2021, 2022)

# ---------------------------------------------------------------------------------------------
# Regions: GB/T 2260 codes; seat coordinates from gazetteer knowledge [gazetteer, U] except the
# places listed in facts §6.1 [facts-6.1, U]. (code, name_zh, name_en, lat, lon)
# ---------------------------------------------------------------------------------------------
PROVINCES = [
    ("110000", "北京市", "Beijing", 39.904, 116.407),
    ("120000", "天津市", "Tianjin", 39.084, 117.201),
    ("130000", "河北省", "Hebei", 38.042, 114.515),
    ("140000", "山西省", "Shanxi", 37.870, 112.549),
    ("150000", "内蒙古自治区", "Inner Mongolia", 40.842, 111.749),
    ("370000", "山东省", "Shandong", 36.651, 117.120),
    ("410000", "河南省", "Henan", 34.747, 113.625),
]
PREFECTURES = [
    ("130100", "石家庄市", "Shijiazhuang", 38.042, 114.515),
    ("130200", "唐山市", "Tangshan", 39.631, 118.180),
    ("130300", "秦皇岛市", "Qinhuangdao", 39.935, 119.600),
    ("130400", "邯郸市", "Handan", 36.625, 114.539),
    ("130500", "邢台市", "Xingtai", 37.070, 114.505),
    ("130600", "保定市", "Baoding", 38.874, 115.465),
    ("130700", "张家口市", "Zhangjiakou", 40.824, 114.887),
    ("130800", "承德市", "Chengde", 40.952, 117.963),
    ("130900", "沧州市", "Cangzhou", 38.304, 116.839),
    ("131000", "廊坊市", "Langfang", 39.538, 116.684),
    ("131100", "衡水市", "Hengshui", 37.739, 115.670),
    ("140100", "太原市", "Taiyuan", 37.870, 112.549),
    ("140200", "大同市", "Datong", 40.077, 113.300),
    ("140300", "阳泉市", "Yangquan", 37.857, 113.580),
    ("140400", "长治市", "Changzhi", 36.195, 113.117),
    ("140500", "晋城市", "Jincheng", 35.491, 112.852),
    ("140600", "朔州市", "Shuozhou", 39.331, 112.433),
    ("140700", "晋中市", "Jinzhong", 37.687, 112.753),
    ("140800", "运城市", "Yuncheng", 35.026, 111.007),
    ("140900", "忻州市", "Xinzhou", 38.416, 112.734),
    ("141000", "临汾市", "Linfen", 36.088, 111.519),
    ("141100", "吕梁市", "Lüliang", 37.519, 111.144),
    ("150100", "呼和浩特市", "Hohhot", 40.842, 111.749),
    ("150200", "包头市", "Baotou", 40.658, 109.840),
    ("150300", "乌海市", "Wuhai", 39.655, 106.795),
    ("150400", "赤峰市", "Chifeng", 42.258, 118.887),
    ("150500", "通辽市", "Tongliao", 43.617, 122.263),
    ("150600", "鄂尔多斯市", "Ordos", 39.609, 109.781),
    ("150700", "呼伦贝尔市", "Hulunbuir", 49.211, 119.766),
    ("150800", "巴彦淖尔市", "Bayannur", 40.743, 107.388),
    ("150900", "乌兰察布市", "Ulanqab", 41.034, 113.114),
    ("152200", "兴安盟", "Hinggan League", 46.077, 122.068),
    ("152500", "锡林郭勒盟", "Xilingol League", 43.933, 116.048),
    ("152900", "阿拉善盟", "Alxa League", 38.844, 105.729),
    ("370100", "济南市", "Jinan", 36.651, 117.120),
    ("370200", "青岛市", "Qingdao", 36.067, 120.383),
    ("370300", "淄博市", "Zibo", 36.813, 118.055),
    ("370400", "枣庄市", "Zaozhuang", 34.810, 117.323),
    ("370500", "东营市", "Dongying", 37.434, 118.675),
    ("370600", "烟台市", "Yantai", 37.464, 121.448),
    ("370700", "潍坊市", "Weifang", 36.707, 119.162),
    ("370800", "济宁市", "Jining", 35.415, 116.587),
    ("370900", "泰安市", "Tai'an", 36.200, 117.088),
    ("371000", "威海市", "Weihai", 37.513, 122.121),
    ("371100", "日照市", "Rizhao", 35.417, 119.527),
    ("371300", "临沂市", "Linyi", 35.104, 118.356),
    ("371400", "德州市", "Dezhou", 37.436, 116.359),
    ("371500", "聊城市", "Liaocheng", 36.457, 115.985),
    ("371600", "滨州市", "Binzhou", 37.382, 117.971),
    ("371700", "菏泽市", "Heze", 35.233, 115.481),
    ("410100", "郑州市", "Zhengzhou", 34.747, 113.625),
    ("410200", "开封市", "Kaifeng", 34.797, 114.307),
    ("410300", "洛阳市", "Luoyang", 34.619, 112.454),
    ("410400", "平顶山市", "Pingdingshan", 33.766, 113.193),
    ("410500", "安阳市", "Anyang", 36.098, 114.393),
    ("410600", "鹤壁市", "Hebi", 35.748, 114.297),
    ("410700", "新乡市", "Xinxiang", 35.303, 113.927),
    ("410800", "焦作市", "Jiaozuo", 35.216, 113.242),
    ("410900", "濮阳市", "Puyang", 35.762, 115.029),
    ("411000", "许昌市", "Xuchang", 34.036, 113.852),
    ("411100", "漯河市", "Luohe", 33.582, 114.017),
    ("411200", "三门峡市", "Sanmenxia", 34.773, 111.200),
    ("411300", "南阳市", "Nanyang", 32.991, 112.529),
    ("411400", "商丘市", "Shangqiu", 34.415, 115.656),
    ("411500", "信阳市", "Xinyang", 32.147, 114.091),
    ("411600", "周口市", "Zhoukou", 33.626, 114.697),
    ("411700", "驻马店市", "Zhumadian", 33.011, 114.022),
    ("419001", "济源市", "Jiyuan", 35.067, 112.602),  # provincial-direct county-level city
]
FACTS_COORDS = {"110000", "120000", "130100", "140100", "150100", "370100", "410100", "130700",
                "130800", "130200", "140600", "370300", "410800", "141100", "371300", "411000",
                "150200"}


def parent_of(code: str) -> str:
    return code[:2] + "0000"


PROVINCE_OF = {c: c for c, *_ in PROVINCES} | {c: parent_of(c) for c, *_ in PREFECTURES}
SEAT = {c: (lat, lon) for c, _, _, lat, lon in PROVINCES + PREFECTURES}
NAME = {c: (zh, en) for c, zh, en, _, _ in PROVINCES + PREFECTURES}

# ---------------------------------------------------------------------------------------------
# 1. Provincial ISW generation 2020 (Mt) and national trend
# ---------------------------------------------------------------------------------------------
PROVINCE_ISW = {  # code: (Mt, source key, confidence); a published figure of statistics.csv wins
    "110000": (4.0, "est-prov", "U"),          # facts §2.3: ~3–5 Mt, midpoint
    "120000": (18.0, "est-prov", "U"),         # facts §2.3: ~18 Mt
    "130000": (340.81, "nbs-prov", "V"),
    "140000": (426.35, "nbs-prov", "V"),
    "150000": (351.17, "nbs-prov", "V"),
    "370000": (270.0, "est-prov", "U"),        # facts §2.3: ~250–290 Mt, midpoint
    "410000": (160.0, "est-prov", "U"),        # facts §2.3: ~150–170 Mt, midpoint
}
NATIONAL_ISW = {2020: (3680, "V"), 2021: (3970, "U"), 2022: (4110, "U")}  # [mee-trend], Mt
TREND = {y: NATIONAL_ISW[y][0] / NATIONAL_ISW[2020][0] for y in YEARS}

# Sourced statistics and factors (scripts/dataset/, formats in the file header of each and in
# SOURCES.md). A published provincial figure of a year replaces the estimate of that year; a
# province published for another year only follows the national trend from it; activity ×
# factor gives the materials it can (steel slag, BF slag, coal gangue), the rest of the
# provincial total (the residual) is split by SPLIT over the other materials.
DATASET_INPUTS = ROOT / "scripts" / "dataset"
STATISTICS = DATASET_INPUTS / "statistics.csv"
STATISTICS_PREFECTURE = DATASET_INPUTS / "statistics-prefecture.csv"
FACTORS = DATASET_INPUTS / "factors.csv"
STATISTICS_COLUMNS = ["region", "year", "item", "value", "unit", "tolerance", "source",
                      "confidence", "note"]
FACTORS_COLUMNS = ["material", "activity", "value", "unit", "source", "confidence", "note"]
STATISTICS_ITEMS = {"isw_generated": "Mt", "isw_utilized": "Mt", "isw_disposed": "Mt",
                    "isw_stored": "Mt", "crude_steel": "Mt", "pig_iron": "Mt", "raw_coal": "Mt",
                    "alumina": "Mt", "cement": "Mt", "clinker": "Mt", "thermal_power": "TWh",
                    "nev_sales": "thousand vehicles", "nev_stock": "thousand vehicles"}
ACTIVITY_ROOM = 0.9  # activity-derived materials take at most 90% of a provincial total [U]

ISW = ("tailings", "waste_rock", "steel_slag", "bf_slag", "other_slag", "fly_ash",
       "furnace_slag", "coal_gangue", "fgd_gypsum", "phosphogypsum", "red_mud")
SECTOR = {"tailings": "mine", "waste_rock": "mine", "steel_slag": "steel", "bf_slag": "steel",
          "fly_ash": "power", "furnace_slag": "power", "fgd_gypsum": "power",
          "coal_gangue": "coal", "red_mud": "alumina", "other_slag": "smelter",
          "phosphogypsum": "phos"}

# Province industry-mix split of ISW by material, % [est-split, U] (facts §2.3 recommended split
# by province structure and the 2018 national mix; see SOURCES.md for the reasoning per row).
SPLIT = {
    "110000": {"tailings": 50, "waste_rock": 5, "furnace_slag": 15, "fly_ash": 10,
               "other_slag": 15, "fgd_gypsum": 5},
    "120000": {"bf_slag": 35, "steel_slag": 20, "fly_ash": 20, "furnace_slag": 10,
               "fgd_gypsum": 8, "other_slag": 7},
    "130000": {"tailings": 48, "waste_rock": 8, "bf_slag": 17, "steel_slag": 9, "other_slag": 1.5,
               "fly_ash": 7, "furnace_slag": 3.5, "coal_gangue": 3.5, "fgd_gypsum": 2.5},
    "140000": {"coal_gangue": 38, "fly_ash": 20, "furnace_slag": 8, "fgd_gypsum": 4,
               "tailings": 9, "waste_rock": 2, "steel_slag": 4, "bf_slag": 7, "other_slag": 2,
               "red_mud": 6},
    "150000": {"fly_ash": 25, "coal_gangue": 22, "furnace_slag": 8, "fgd_gypsum": 4,
               "tailings": 22, "waste_rock": 5, "bf_slag": 4, "steel_slag": 2, "other_slag": 8},
    "370000": {"fly_ash": 22, "furnace_slag": 8, "fgd_gypsum": 6, "bf_slag": 14, "steel_slag": 8,
               "other_slag": 6, "red_mud": 13, "tailings": 12, "waste_rock": 2,
               "coal_gangue": 8, "phosphogypsum": 1},
    "410000": {"coal_gangue": 20, "fly_ash": 20, "furnace_slag": 7, "fgd_gypsum": 5,
               "red_mud": 15, "tailings": 14, "waste_rock": 3, "bf_slag": 7, "steel_slag": 4,
               "other_slag": 4, "phosphogypsum": 1},
}

# Prefecture weights by sector [est-weights, U]: relative size of the sector in each prefecture
# (rough Mt-scale guesses from the known location of mines, mills, power plants and smelters).
# Beijing and Tianjin are one unit each (their province code).
WEIGHTS: dict[str, dict[str, dict[str, float]]] = {
    "110000": {s: {"110000": 1} for s in ("mine", "power", "smelter")},
    "120000": {s: {"120000": 1} for s in ("steel", "power", "smelter")},
    "130000": {
        # Chengde's tailings weight is its anchor (ANCHORS), its 60 here serves waste rock;
        # Tangshan includes Qianxi (>20 Mt, 2015)
        "mine": {"130800": 60, "130200": 60, "130700": 20, "130400": 15, "130300": 12, "130500": 8,
                 "130600": 6, "130100": 5},
        "steel": {"130200": 50, "130400": 25, "130100": 6, "130500": 5, "130300": 4,
                  "130700": 3, "130800": 3, "130900": 3},
        "power": {"130100": 5, "130200": 5, "130400": 5, "130700": 5, "130500": 3, "130600": 3,
                  "130900": 3, "130300": 2, "131000": 2, "131100": 2, "130800": 2},
        "coal": {"130400": 5, "130500": 3, "130200": 2, "130700": 1},
        "smelter": {"130200": 2, "130400": 2, "130100": 1, "130800": 1},
    },
    "140000": {
        "mine": {"141100": 1, "140900": 6, "140800": 4, "140100": 3, "140200": 2, "141000": 3},
        "steel": {"140100": 8, "141000": 6, "140400": 5, "140800": 4, "141100": 3, "140700": 3,
                  "140500": 2, "140900": 1},
        "power": {"140600": 8, "140200": 8, "140100": 6, "140400": 6, "140500": 5, "140300": 4,
                  "140700": 4, "141000": 4, "140900": 4, "140800": 3, "141100": 1},
        "coal": {"140600": 1, "140200": 18, "140400": 16, "140500": 14, "140700": 12,
                 "141000": 12, "140300": 9, "140900": 9, "140100": 6, "141100": 1},
        "alumina": {"141100": 1, "140800": 6, "140900": 4, "140700": 2},
        "smelter": {"141100": 1, "140800": 3, "140100": 2, "140900": 1},
    },
    "150000": {
        "mine": {"150200": 40, "150400": 15, "150700": 8, "152500": 5, "150800": 6, "150900": 3,
                 "152900": 2},
        "steel": {"150200": 12, "150900": 2, "150400": 1, "150300": 1},
        "power": {"150100": 1, "150600": 22, "150200": 10, "150300": 6, "150900": 10,
                  "152500": 8, "150500": 8, "150700": 6, "150400": 5, "150800": 3},
        "coal": {"150600": 50, "150700": 12, "152500": 10, "150500": 8, "150300": 6,
                 "150400": 4, "152200": 2, "152900": 2},
        "smelter": {"150300": 6, "150900": 6, "150200": 4, "150600": 3, "152900": 1},
    },
    "370000": {
        "mine": {"370100": 8, "370600": 10, "370900": 3, "371300": 3, "370300": 2, "370700": 2},
        "steel": {"370100": 10, "371100": 12, "370300": 3, "371300": 5, "370800": 1, "370700": 2},
        "power": {"370100": 4, "370200": 3, "370300": 4, "370500": 3, "370600": 3, "370700": 5,
                  "370800": 6, "370900": 3, "371100": 2, "371300": 4, "371400": 4, "371500": 4,
                  "371600": 6, "371700": 3, "370400": 2, "371000": 1},
        "coal": {"370800": 10, "370400": 5, "370900": 4, "371700": 4, "370300": 1, "371300": 1},
        "alumina": {"371600": 8, "370300": 2, "371500": 2, "370500": 1},
        "smelter": {"370600": 4, "370300": 3, "371500": 3, "371600": 2, "370100": 1, "371300": 1},
        "phos": {"371500": 1, "370300": 1},
    },
    "410000": {
        "mine": {"410300": 8, "411200": 6, "410400": 3, "411300": 2, "410500": 1, "419001": 1},
        "steel": {"410500": 10, "419001": 3, "410400": 2, "410100": 2, "410700": 1, "410300": 1},
        "power": {"410100": 5, "410300": 4, "410800": 3, "410700": 3, "410500": 3, "410400": 3,
                  "411200": 2, "411400": 2, "411500": 2, "410600": 2, "410200": 1, "411000": 1,
                  "411300": 1, "419001": 1, "410900": 1, "411600": 1},
        "coal": {"410400": 10, "410100": 6, "410800": 3, "410600": 3, "410300": 3, "411200": 3,
                 "411400": 2},
        "alumina": {"410800": 4, "410100": 4, "410300": 3, "411200": 3, "419001": 1},
        "smelter": {"419001": 6, "410300": 2, "411200": 2, "410500": 1},
        "phos": {"410800": 1, "411000": 1},
    },
}

# City figures from the sources, Mt/yr: (prefecture, material): (value, source key, confidence).
# Used as 2020 values (their year differs: see the source key).
ANCHORS = {
    ("141100", "coal_gangue"): (38.36, "lvliang-2023", "P"),
    ("141100", "tailings"): (16.74, "lvliang-2023", "P"),
    ("141100", "red_mud"): (16.04, "lvliang-2023", "P"),
    ("141100", "fly_ash"): (9.93, "lvliang-2023", "P"),
    ("141100", "furnace_slag"): (7.81, "lvliang-2023", "P"),
    ("141100", "other_slag"): (2.64, "lvliang-2023", "P"),
    ("150100", "fly_ash"): (10.29, "hohhot-2023", "P"),
    ("150100", "furnace_slag"): (2.47, "hohhot-2023", "P"),
    ("150100", "fgd_gypsum"): (2.07, "hohhot-2023", "P"),
    ("140600", "coal_gangue"): (30.0, "shuozhou-2012", "P"),
    ("140600", "fly_ash"): (8.0, "shuozhou-2016", "P"),
    ("140600", "fgd_gypsum"): (1.2, "shuozhou-2012", "P"),
    ("130800", "tailings"): (200.0, "chengde-2019", "V"),
}
ANCHOR_ROOM = 0.9  # anchors are kept exactly when they use at most 90% of the province total

# Sub-sites: a prefecture-sector generator split over named places (share, zh, en, lat, lon).
SUBSITES = {
    ("130800", "mine"): [("shuangluan", 0.45, "承德双滦矿区", "Chengde Shuangluan mines", 40.960, 117.800),
                         ("luanping", 0.20, "滦平矿区", "Luanping mines", 40.941, 117.332),
                         ("fengning", 0.20, "丰宁矿区", "Fengning mines", 41.209, 116.651),
                         ("kuancheng", 0.15, "宽城矿区", "Kuancheng mines", 40.611, 118.485)],
    ("130200", "mine"): [("qianan", 0.45, "迁安矿区", "Qian'an mines", 40.012, 118.701),
                         ("qianxi", 0.35, "迁西矿区", "Qianxi mines", 40.146, 118.314),
                         ("luanzhou", 0.20, "滦州矿区", "Luanzhou mines", 39.741, 118.703)],
    ("130200", "steel"): [("caofeidian", 0.45, "曹妃甸钢铁", "Caofeidian steel", 39.270, 118.460),
                          ("city", 0.55, "唐山市区钢铁", "Tangshan city steel", 39.631, 118.180)],
    ("130400", "steel"): [("wuan", 0.6, "武安钢铁", "Wu'an steel", 36.697, 114.204),
                          ("city", 0.4, "邯郸市区钢铁", "Handan city steel", 36.625, 114.539)],
}
SECTOR_NAME = {  # zh, en, coordinate offset (deg) from the seat
    "mine": ("矿山尾矿废石", "mine tailings and waste rock", (0.10, -0.08)),
    "steel": ("钢铁冶炼渣", "steel-mill slag", (-0.06, 0.09)),
    "power": ("电厂粉煤灰炉渣石膏", "power-plant ash, slag and gypsum", (0.05, 0.06)),
    "coal": ("煤矿煤矸石", "colliery coal gangue", (0.12, 0.10)),
    "alumina": ("氧化铝赤泥", "alumina refinery red mud", (-0.09, -0.07)),
    "smelter": ("有色及铁合金冶炼渣", "non-ferrous and ferro-alloy slag", (-0.04, -0.12)),
    "phos": ("磷化工磷石膏", "phosphate plant phosphogypsum", (-0.11, 0.03)),
    "urban": ("城市再生资源与城市废弃物", "urban recyclables and city wastes", (0.0, 0.0)),
}

# Legacy stock (存量), t at the start of each year, held at the reported value [U: not rolled].
STOCKS = {  # (prefecture, material): (Mt, source, confidence)
    ("130800", "tailings"): (1600.0, "chengde-2019", "V"),
    ("140600", "fly_ash"): (180.0, "shuozhou-2016", "P"),
}
SHANXI_GANGUE_STOCK = (1000.0, "shanxi-gangue-stock", "P")  # >1 Gt, split by gangue generation
STOCK_DRAW_SHARE = 0.02  # at most 2% of a stock drawn per year [U]
DISPOSAL_COST = {  # yuan/t, compliant storage or disposal before the environmental tax [U]
    "tailings": 8, "waste_rock": 5, "steel_slag": 30, "bf_slag": 30, "other_slag": 40,
    "fly_ash": 25, "furnace_slag": 20, "coal_gangue": 10, "fgd_gypsum": 20, "phosphogypsum": 30,
    "red_mud": 30, "scrap_steel": 0, "scrap_copper": 0, "scrap_aluminium": 0, "waste_tyres": 150,
    "waste_plastics": 150, "waste_paper": 100, "retired_batteries": 500, "cd_waste": 30,
    "msw": 150, "sewage_sludge": 300, "hazardous_waste": 2500,
}

# ---------------------------------------------------------------------------------------------
# 4-5. Recycled resources and urban wastes
# ---------------------------------------------------------------------------------------------
RECYCLED_REGION = {2020: 117.9, 2021: 119.4, 2022: 115.0}  # Mt: 2022 midpoint of 100–130 [recycled-region, U];
# 2020/2021 = 2022 × national 380/371 and 385/371 [crra-national: 2021, 2022 V; 2020 U]
RECYCLED_SHARE = {"scrap_steel": 70.0, "waste_paper": 17.0, "waste_plastics": 6.0,
                  "scrap_aluminium": 3.0, "waste_tyres": 2.5, "scrap_copper": 1.3}  # % of the total
# [recycled-mix, U]; retired batteries are not a share of it: they come from the NEV forecast
# (battery_supplies), the one definition of the region's retired batteries
RECYCLED_PROVINCE = {"130000": 24.5, "110000": 12.5, "120000": 8.2,  # 2014 shares [jjj-2014]
                     "370000": 25.0, "410000": 14.8, "140000": 7.5, "150000": 7.5}  # rest [U]
CITY_SHARE = {  # province: {city: share} of its recycled resources [est-weights, U]
    "110000": {"110000": 1}, "120000": {"120000": 1},
    "130000": {"130100": 0.3, "130200": 0.3, "130600": 0.2, "130400": 0.2},
    "140000": {"140100": 0.6, "140400": 0.2, "140200": 0.2},
    "150000": {"150100": 0.4, "150200": 0.4, "150600": 0.2},
    "370000": {"370100": 0.25, "370200": 0.3, "370700": 0.15, "371300": 0.15, "370300": 0.15},
    "410000": {"410100": 0.45, "410300": 0.2, "411000": 0.15, "410700": 0.2},
}
POPULATION = {  # million residents, 2020 census as recalled [census-2020, U]
    "110000": 21.9, "120000": 13.9, "130100": 11.2, "130200": 7.7, "130600": 11.5,
    "130400": 9.4, "140100": 5.3, "140400": 3.2, "140200": 3.1, "150100": 3.4, "150200": 2.7,
    "150600": 2.2, "370100": 9.2, "370200": 10.1, "370700": 9.4, "371300": 11.0, "370300": 4.7,
    "410100": 12.6, "410300": 7.1, "411000": 4.4, "410700": 6.3,
}
URBAN_PER_CAPITA = {"cd_waste": 1.2, "msw": 0.33, "sewage_sludge": 0.05,
                    "hazardous_waste": 0.015}  # t per resident per year [urban-percap, U]
XIONGAN_CD = 5.0  # Mt/yr of construction waste during the build-out [xiongan-cd, U]
URBAN_GROWTH = {2020: 1.0, 2021: 1.03, 2022: 1.05}  # [urban-percap, U]


# ---------------------------------------------------------------------------------------------
# Retired traction batteries (plan task 八). One definition: the region's retired batteries per
# province and year are the central run of the NEV retirement forecast (resynergy.batteries.
# forecast, inputs with their tags in its data/*.csv), spread over each province's large cities
# by CITY_SHARE [bat-city-split, U]. Firms of MIIT's 新能源汽车废旧动力蓄电池综合利用行业规范条件
# list in the seven provinces: scripts/dataset/plants-batteries.csv (those without a known place
# are listed there and left out here). Markets for the products are sized from the same tonnage.
# ---------------------------------------------------------------------------------------------
BATTERY = forecast.MATERIAL
BATTERY_PLANTS = ROOT / "scripts" / "dataset" / "plants-batteries.csv"
BATTERY_PROCESSES = ("battery_cascade", "battery_recycling")
BATTERY_MARKETS = {  # product: {demand node: share of the region's market} [bat-markets-est, U]
    "battery_salts": {"D-zhengzhou": 1.0},  # precursor makers buy on a national market
    "battery_modules": {"D-taiyuan": 0.5, "D-tianjin": 0.5},  # base-station backup and storage
}


@cache
def battery_forecast() -> forecast.Forecast:
    """The forecast's central run (no Monte Carlo draws: deterministic) up to the last year."""
    return forecast.run(to=max(YEARS), draws=0)


def battery_mass() -> dict[tuple[str, int], float]:
    """Retired traction batteries (t) by (province, year) for YEARS, from the forecast."""
    t = battery_forecast().table
    t = t[t["year"].isin(YEARS)].groupby(["province", "year"])["retired_t"].sum()
    return {(str(p), int(y)): float(v) for (p, y), v in t.items()}


def battery_supplies() -> list[dict]:
    """Supply rows of retired batteries at the city sites G-<city>-urban: the province's
    forecast tonnage × the city's share of the province."""
    mass, rows = battery_mass(), []
    for prov, cities in CITY_SHARE.items():
        for city, cshare in cities.items():
            for year in YEARS:
                rows.append({
                    "site": f"G-{city}-urban", "material": BATTERY, "year": year,
                    "generation_t": r6(mass[(prov, year)] * cshare), "stock_t": 0.0,
                    "stock_draw_max_t": 0.0, "disposal_cost": DISPOSAL_COST[BATTERY], "must_use": "false",
                    "source": f"[bat-forecast] {NAME[prov][1]} {year}: {mass[(prov, year)]:,.0f} t retired "
                              f"(resynergy.batteries.forecast, central run) × city share {cshare:g} [bat-city-split] [U]",
                })
    return rows


PLANT_COLUMNS = ("id,operator,operator_en,uscc,region,county,lat,lon,coord_basis,kind,process,materials,"
                 "activity,activity_unit,capacity_t,capacity_basis,year_from,status,source,confidence,"
                 "note").split(",")  # every scripts/dataset/plants-*.csv (DATASET format)


def input_error(path: Path, line: int, column: str, value: object, expected: str) -> ValueError:
    """A located error for a bad cell of a dataset input file (scripts/dataset/*.csv), zh and en."""
    name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    return ValueError(f"{name} 第 {line} 行 {column} 列：{value!r}，应为 {expected} / "
                      f"{name}, row {line}, column {column}: {value!r}, expected {expected}")


def input_rows(path: Path, columns: list[str]) -> list[tuple[int, dict[str, str]]]:
    """(row number, row) of a dataset input file whose header is ``columns``; a wrong header or a
    row with more or fewer cells (an unquoted comma) is a located error."""
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != columns:
            raise input_error(path, 1, "header", reader.fieldnames, ",".join(columns))
        rows = list(enumerate(reader, start=2))
    for line, r in rows:
        if None in r or None in r.values():
            raise input_error(path, line, columns[-1], r.get(None) or "", f"{len(columns)} cells "
                              "(a cell with a comma must be quoted / 含逗号的单元格须加引号)")
    return rows


def read_plants(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(row number, row) of a plants file, [] when it is missing; the columns and the checks every
    kind of plant shares (the operator named, a USCC only with a valid check digit, a region of
    this script, numbers ≥ 0) are checked here, the kind's own checks by the caller."""
    if not path.exists():
        return []
    rows = input_rows(path, PLANT_COLUMNS)
    for n, r in rows:
        if not r["operator"].strip():
            raise input_error(path, n, "operator", r["operator"], "the operator's name as published")
        if r["uscc"] and not uscc.is_valid(r["uscc"]):
            raise input_error(path, n, "uscc", r["uscc"], "a USCC with a valid GB 32100 check digit, or blank")
        if r["region"] not in PROVINCE_OF:
            raise input_error(path, n, "region", r["region"], "a province or prefecture code of build_dataset.py")
        for col in ("capacity_t", "lat", "lon", "year_from", "activity"):
            try:
                ok = not r[col] or float(r[col]) >= 0
            except ValueError:
                ok = False
            if not ok:
                raise input_error(path, n, col, r[col], "a number ≥ 0")
    return rows


def battery_plants() -> list[dict]:
    """Rows of scripts/dataset/plants-batteries.csv, checked (:func:`read_plants`)."""
    return [r for _, r in read_plants(BATTERY_PLANTS)]


def add_battery_plants(sites: dict[str, dict], facilities: list[dict]) -> list[dict]:
    """Sites (with their operator) and existing facilities of the listed battery firms that have a
    place; returns the rows left out for want of one. ValueError naming the file, row and column
    for a process that is not a battery process or a missing capacity."""
    unplaced = []
    for n, r in read_plants(BATTERY_PLANTS):
        if r["process"] not in BATTERY_PROCESSES:
            raise input_error(BATTERY_PLANTS, n, "process", r["process"], " | ".join(BATTERY_PROCESSES))
        if not r["lat"] or not r["lon"]:
            unplaced.append(r)
            continue
        if not r["capacity_t"]:
            raise input_error(BATTERY_PLANTS, n, "capacity_t", r["capacity_t"], "a capacity (t/yr) for a placed plant")
        cascade = r["process"] == "battery_cascade"
        sites[r["id"]] = {
            "id": r["id"], "name_zh": f"{r['operator']}（动力电池{'梯次利用' if cascade else '再生利用'}）",
            "name_en": f"{r['operator_en']} (battery {'second-life use' if cascade else 'recycling'})",
            "org_uscc": r["uscc"], "operator": r["operator"], "region": r["region"],
            "lat": float(r["lat"]), "lon": float(r["lon"]), "roles": "facility", "designation": "",
            "source": f"{r['source']}; coordinates: {r['coord_basis']}",
        }
        facilities.append({
            "id": "F-" + r["id"][2:], "site": r["id"], "process": r["process"], "year": int(r["year_from"]),
            "capacity_t": r6(float(r["capacity_t"])), "expandable": "false", "max_capacity_t": 0.0,
            "capex": "", "fixed_cost": 0.0, "candidate": "false",
            "source": f"{r['source']} ({r['capacity_basis']} capacity) [{r['confidence']}]", "host_output_t": 0.0,
        })
    return unplaced


def battery_demands() -> list[dict]:
    """Demand rows of battery salts and second-life modules: catalog yield × the region's forecast
    retired batteries of the year × the node's share, so the markets take what the region can make."""
    yields = {}
    with PROCESS_IO.open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["direction"] == "out" and r["process"] in BATTERY_PROCESSES:
                yields[r["material"]] = (r["process"], float(r["rate"]))
    mass, rows = battery_mass(), []
    for product, nodes in BATTERY_MARKETS.items():
        process, rate = yields[product]
        for i, year in enumerate(YEARS):
            region = sum(v for (_, y), v in mass.items() if y == year)
            for sid, share in nodes.items():
                rows.append({
                    "site": sid, "material": product, "year": year, "quantity_t": r6(rate * region * share),
                    "value": float(PREMIUM.get(sid, {}).get(product, PRICE[product])[i]), "must_meet": "false",
                    "source": f"[bat-markets-est] {process} yield {rate:g} × the region's {region:,.0f} t of retired "
                              f"batteries in {year} [bat-forecast] × share {share:g} [U]; "
                              f"value {PRICE_SOURCE.get(product, '[prices-est] [U]')}",
                })
    return rows


BATTERY_BEGIN, BATTERY_END = "<!-- batteries:begin -->", "<!-- batteries:end -->"


def battery_markdown(tables: dict[str, list[dict]]) -> str:
    """SOURCES.md block: the dataset's retired batteries by province and year (the forecast's
    figures), the old 0.2 % share for comparison, and the plants and candidates that take them."""
    mass, years = battery_mass(), list(YEARS)
    lines = ["| province | " + " | ".join(f"{y} kt" for y in years) + " |", "|---|" + "---|" * len(years)]
    for prov, *_ in PROVINCES:
        lines.append(f"| {NAME[prov][1]} | " + " | ".join(f"{mass[(prov, y)] / 1e3:.1f}" for y in years) + " |")
    region = {y: sum(v for (_, yy), v in mass.items() if yy == y) for y in years}
    nat = battery_forecast().national_equivalent()
    old = {y: RECYCLED_REGION[y] * MT * 0.2 / 100 for y in years}  # the former recycled-mix share
    lines += ["| region | " + " | ".join(f"{region[y] / 1e3:.1f}" for y in years) + " |",
              "| country (region ÷ its sales share) | " + " | ".join(f"{nat[y] / 1e3:.0f}" for y in years) + " |",
              "| region, former 0.2 % of recycled resources | " + " | ".join(f"{old[y] / 1e3:.0f}" for y in years) + " |"]
    fac = [f for f in tables["facilities"] if f["process"] in BATTERY_PROCESSES]
    ops = {s["id"]: s.get("operator", "") for s in tables["sites"]}
    lines += ["", "| facility | process | from | t/yr | operator |", "|---|---|---|---|---|"]
    lines += [f"| {f['id']} | {f['process']} | {f['year']} | {f['capacity_t']:,.0f} | "
              f"{ops.get(f['site']) or ('candidate' if f['candidate'] == 'true' else 'plan site')} |" for f in fac]
    left = [r["operator"] for r in battery_plants() if not r["lat"]]
    lines.append(f"\nListed firms not placed (no address found): {'、'.join(left) or 'none'}.")
    return "\n".join(lines) + "\n"


def with_battery_block(text: str, tables: dict[str, list[dict]]) -> str:
    """SOURCES.md text with its batteries block rewritten."""
    return replace_block(text, BATTERY_BEGIN, BATTERY_END, battery_markdown(tables))


# ---------------------------------------------------------------------------------------------
# Sites of facilities, demands and terminals: (id, zh, en, region, lat, lon, designation, source)
# ---------------------------------------------------------------------------------------------
PLACES = [
    # aggregate bases (plan task 三): Chengde, Tangshan, Zhangjiakou
    ("S-chengde", "承德尾矿综合利用基地（双滦）", "Chengde tailings utilization base (Shuangluan)",
     "130800", 40.960, 117.800, "base:chengde", "[plan] task 三; [chengde-2019]; [gazetteer]"),
    ("S-luanping", "滦平巨源绿色砂石基地", "Luanping Juyuan green aggregate base", "130800",
     40.941, 117.332, "base:luanping", "[beijing-green-bases]; [facts-6.1]"),
    ("S-fengning", "丰宁尾矿砂石基地", "Fengning tailings aggregate base", "130800", 41.209,
     116.651, "", "[fengning-2020]; [facts-6.1]"),
    ("S-kuancheng", "宽城尾矿砂石", "Kuancheng tailings aggregate", "130800", 40.611, 118.485,
     "", "[est-capacity]; [gazetteer]"),
    ("S-qianan", "首钢迁安矿业砂石基地", "Shougang Qian'an mining aggregate base", "130200", 40.012,
     118.701, "base:qianan", "[beijing-green-bases]; [facts-6.1]"),
    ("S-qianxi", "迁西尾矿综合利用", "Qianxi tailings utilization", "130200", 40.146, 118.314, "",
     "[qianxi-2015]; [gazetteer]"),
    ("S-luanzhou", "滦州尾矿砂石及雄安构件基地", "Luanzhou tailings aggregate and Xiong'an precast base",
     "130200", 39.741, 118.703, "cluster:luanzhou", "[plan] task 十一; [gazetteer]"),
    ("S-zhangjiakou", "张家口宣化尾矿废石砂石基地", "Zhangjiakou Xuanhua aggregate base", "130700",
     40.610, 115.060, "base:zhangjiakou", "[plan] task 三; [gazetteer]"),
    # co-utilization bases (plan task 四; designations illustrative [U])
    ("S-caofeidian", "曹妃甸冶金固废协同利用基地", "Caofeidian metallurgical waste co-utilization base",
     "130200", 39.270, 118.460, "co_base:caofeidian", "[plan] task 四 (site illustrative); [gazetteer]"),
    ("S-wuan", "武安钢渣协同利用基地", "Wu'an steel-slag co-utilization base", "130400", 36.697,
     114.204, "co_base:wuan", "[plan] task 四 (site illustrative); [gazetteer]"),
    ("S-shuozhou", "朔州工业固废综合利用基地", "Shuozhou ISW comprehensive utilization base", "140600",
     39.331, 112.433, "base:shuozhou;co_base:shuozhou", "[plan] task 九 names Shuozhou; [shuozhou-2016]"),
    ("S-baotou-co", "包头冶金煤电固废协同利用基地", "Baotou metallurgy and coal-power co-utilization base",
     "150200", 40.600, 110.000, "co_base:baotou", "[plan] task 四 (site illustrative); [gazetteer]"),
    ("S-jinan-co", "济南（莱芜）钢渣矿渣协同利用基地", "Jinan (Laiwu) slag co-utilization base", "370100",
     36.213, 117.677, "co_base:laiwu", "[plan] task 四 (site illustrative); [gazetteer]"),
    ("S-anyang-co", "安阳冶金固废协同利用基地", "Anyang metallurgical waste co-utilization base",
     "410500", 36.098, 114.393, "co_base:anyang", "[plan] task 四 (site illustrative); [gazetteer]"),
    ("S-ordos-co", "鄂尔多斯煤电固废协同利用基地", "Ordos coal-power waste co-utilization base", "150600",
     39.609, 109.781, "co_base:ordos", "[plan] task 四 (site illustrative); [gazetteer]"),
    ("S-changzhi-co", "长治煤电冶金固废协同利用基地", "Changzhi coal-power and metallurgy co-utilization base",
     "140400", 36.195, 113.117, "co_base:changzhi", "[plan] task 四 (site illustrative); [gazetteer]"),
    # red mud (plan task 五): Zibo, Jiaozuo, Lüliang
    ("S-zibo-redmud", "淄博赤泥综合利用", "Zibo red-mud utilization", "370300", 36.813, 118.055,
     "base:zibo", "[plan] task 五 names Zibo; [facts-6.1]"),
    ("S-jiaozuo-redmud", "焦作赤泥综合利用", "Jiaozuo red-mud utilization", "410800", 35.216, 113.242,
     "base:jiaozuo", "[plan] task 五 names Jiaozuo; [facts-6.1]"),
    ("S-lvliang-redmud", "吕梁赤泥综合利用", "Lüliang red-mud utilization", "141100", 37.519, 111.144,
     "base:lvliang", "[plan] task 五 names Lüliang; [lvliang-2023]"),
    # recycled-resource parks (plan task 九) and tyre/plastics enterprises (task 七)
    ("S-ziya", "天津子牙循环经济产业区", "Tianjin Ziya circular-economy park", "120000", 38.860, 116.880,
     "park:ziya", "[plan] task 九 names Ziya; [facts-6.1]"),
    ("S-dingzhou", "定州再生资源产业园", "Dingzhou recycled-resource park", "130600", 38.516, 114.990,
     "park:dingzhou;enterprise:dingzhou-polymer", "[plan] tasks 七, 九 name Dingzhou; [facts-6.1]"),
    ("S-linyi", "临沂再生资源产业园", "Linyi recycled-resource park", "371300", 35.104, 118.356,
     "park:linyi", "[plan] task 九 names Linyi; [facts-6.1]"),
    ("S-xuchang", "许昌再生资源产业园", "Xuchang recycled-resource park", "411000", 34.036, 113.852,
     "park:xuchang", "[plan] task 九 names Xuchang; [facts-6.1]"),
    ("S-baotou-park", "包头再生资源产业园", "Baotou recycled-resource park", "150200", 40.658, 109.840,
     "park:baotou", "[plan] task 九 names Baotou; [facts-6.1]"),
    ("S-jinan-polymer", "济南废旧轮胎废塑料加工", "Jinan waste-tyre and plastics processing", "370100",
     36.700, 117.000, "enterprise:jinan-polymer", "[plan] task 七 names Jinan; [gazetteer]"),
    ("S-jiaozuo-polymer", "焦作废旧轮胎废塑料加工", "Jiaozuo waste-tyre and plastics processing", "410800",
     35.250, 113.200, "enterprise:jiaozuo-polymer", "[plan] task 七 names Jiaozuo; [gazetteer]"),
    ("S-pingyao-polymer", "平遥废旧轮胎加工", "Pingyao waste-tyre processing", "140700", 37.189, 112.175,
     "enterprise:pingyao-polymer", "[plan] task 七 names Pingyao; [facts-6.1]"),
    # waste-paper sorting centres (plan task 七: 3–5 in Tianjin, Beijing, Hebei, Shandong)
    ("S-paper-tianjin", "天津废纸分拣加工中心", "Tianjin waste-paper sorting centre", "120000", 39.200,
     117.350, "paper_centre:tianjin", "[plan] task 七; site [U]"),
    ("S-paper-beijing", "北京废纸分拣加工中心", "Beijing waste-paper sorting centre", "110000", 39.780,
     116.550, "paper_centre:beijing", "[plan] task 七; site [U]"),
    ("S-paper-langfang", "河北（廊坊）废纸分拣加工中心", "Hebei (Langfang) waste-paper sorting centre",
     "131000", 39.538, 116.684, "paper_centre:langfang", "[plan] task 七; site [U]"),
    ("S-paper-weifang", "山东（潍坊）废纸分拣加工中心", "Shandong (Weifang) waste-paper sorting centre",
     "370700", 36.900, 118.800, "paper_centre:weifang", "[plan] task 七; site [U]"),
    # retired batteries (plan task 八): Shanxi, Shandong, Hebei, Henan, Inner Mongolia
    ("S-battery-taiyuan", "太原动力电池梯次利用示范", "Taiyuan battery second-life demonstration", "140100",
     37.800, 112.600, "", "[plan] task 八; site [U]"),
    ("S-battery-zibo", "淄博动力电池回收利用", "Zibo battery recycling", "370300", 36.800, 118.100, "",
     "[plan] task 八; site [U]"),
    ("S-battery-baoding", "保定动力电池梯次利用", "Baoding battery second-life use", "130600", 38.874,
     115.465, "", "[plan] task 八; site [U]"),
    ("S-battery-baotou", "包头动力电池梯次利用", "Baotou battery second-life use", "150200", 40.620,
     109.900, "", "[plan] task 八; site [U]"),
    # candidate licensed recycling plants near the largest sources, so that no retired battery
    # need be disposed of (catalog materials.disposal_allowed = false) [battery-candidates, U];
    # kept only where no firm of the MIIT list is placed (Tianjin's candidate gave way to the
    # listed cascade users in Tianjin and Cangzhou, Xinxiang's plan site to Kelong: BATTERY_PLANTS)
    ("S-battery-tangshan", "唐山动力电池再生利用（候选）", "Tangshan battery recycling (candidate)",
     "130200", 39.600, 118.250, "", "[battery-candidates] site [U]"),
    ("S-battery-jinan", "济南动力电池再生利用（候选）", "Jinan battery recycling (candidate)",
     "370100", 36.700, 117.200, "", "[battery-candidates] site [U]"),
    # cement kilns co-processing city wastes (plan task 十)
    ("S-kiln-xingtai", "冀东水泥邢台协同处置线", "Jidong cement Xingtai co-processing line", "130500",
     37.070, 114.505, "", "[jidong-kilns]"),
    ("S-kiln-yangquan", "冀东水泥阳泉协同处置线", "Jidong cement Yangquan co-processing line", "140300",
     37.857, 113.580, "", "[jidong-kilns]"),
    ("S-kiln-wenxi", "冀东水泥闻喜协同处置线", "Jidong cement Wenxi co-processing line", "140800",
     35.356, 111.224, "", "[jidong-kilns]; [gazetteer]"),
    ("S-kiln-liulihe", "北京琉璃河水泥窑协同处置", "Beijing Liulihe cement-kiln co-processing", "110000",
     39.600, 115.980, "", "[est-capacity]; [gazetteer]"),
    ("S-kiln-tangshan", "唐山水泥窑协同处置（候选）", "Tangshan cement-kiln co-processing (candidate)",
     "130200", 39.700, 118.300, "", "[plan] task 十; [est-capacity]"),
    ("S-kiln-shijiazhuang", "石家庄水泥窑协同处置（候选）", "Shijiazhuang cement-kiln co-processing (candidate)",
     "130100", 38.100, 114.350, "", "[plan] task 十; [est-capacity]"),
    ("S-kiln-jinan", "济南水泥窑协同处置（候选）", "Jinan cement-kiln co-processing (candidate)", "370100",
     36.600, 117.300, "", "[plan] task 十; [est-capacity]"),
    ("S-kiln-zibo", "淄博水泥窑协同处置", "Zibo cement-kiln co-processing", "370300", 36.750, 118.000,
     "", "[plan] task 十; [est-capacity]"),
    ("S-kiln-tianjin", "天津水泥窑协同处置", "Tianjin cement-kiln co-processing", "120000", 39.300,
     117.500, "", "[est-capacity]"),
    # concrete and C&D near the demand centres
    ("S-beijing-concrete", "北京预拌混凝土及建筑垃圾资源化", "Beijing ready-mix concrete and C&D recycling",
     "110000", 39.850, 116.300, "", "[est-capacity]"),
    ("S-tianjin-concrete", "天津预拌混凝土及建筑垃圾资源化", "Tianjin ready-mix concrete and C&D recycling",
     "120000", 39.050, 117.150, "", "[est-capacity]"),
    ("S-xiongan", "雄安新区建材与建筑垃圾资源化", "Xiong'an building materials and C&D recycling",
     "130600", 38.990, 115.980, "", "[plan] task 十一; [facts-6.1]"),
]

# Demand sites (virgin-alternative markets, each standing for a city and its hinterland):
# (id, zh, en, region, lat, lon).
DEMAND_SITES = [
    ("D-beijing", "北京市建材市场", "Beijing building-materials market", "110000", 39.904, 116.407),
    ("D-tianjin", "天津市建材市场", "Tianjin building-materials market", "120000", 39.084, 117.201),
    ("D-xiongan", "雄安新区建设", "Xiong'an New Area construction", "130600", 39.000, 115.950),
    ("D-shijiazhuang", "石家庄市建材市场", "Shijiazhuang market", "130100", 38.060, 114.500),
    ("D-tangshan", "唐山市市场", "Tangshan market", "130200", 39.650, 118.160),
    ("D-handan", "邯郸市市场", "Handan market", "130400", 36.640, 114.520),
    ("D-taiyuan", "太原市市场", "Taiyuan market", "140100", 37.890, 112.560),
    ("D-hohhot", "呼和浩特市市场", "Hohhot market", "150100", 40.830, 111.730),
    ("D-baotou", "包头市市场", "Baotou market", "150200", 40.670, 109.850),
    ("D-ordos", "鄂尔多斯煤矿充填与道路", "Ordos mine backfill and roads", "150600", 39.650, 109.800),
    ("D-jinan", "济南市市场", "Jinan market", "370100", 36.670, 117.100),
    ("D-qingdao", "青岛市市场", "Qingdao market", "370200", 36.080, 120.370),
    ("D-weifang", "潍坊市市场", "Weifang market", "370700", 36.720, 119.140),
    ("D-zhengzhou", "郑州市市场", "Zhengzhou market", "410100", 34.760, 113.650),
]
# Demand quantities 2022, Mt/yr, per site and product; 2020/2021 scaled
# by DEMAND_TREND. Aggregate (coarse + sand) in Beijing 85, Tianjin 65 [agg-demand, V band, U
# default]; Xiong'an 60 [xiongan-demand, U]; other figures [demand-est, U].
DEMAND = {
    "D-beijing": {"coarse_aggregate": 51, "manufactured_sand": 34, "ready_mix_concrete": 30,
                  "cement": 2.5, "road_base": 6, "bricks_blocks": 3, "sorted_paper": 2.0,
                  "recycled_pellets": 0.6},
    "D-tianjin": {"coarse_aggregate": 39, "manufactured_sand": 26, "ready_mix_concrete": 20,
                  "road_base": 6, "eaf_steel": 10, "recycled_copper": 0.9,
                  "recycled_aluminium": 1.6, "recovered_metals": 3, "sorted_paper": 4.0},
    "D-xiongan": {"coarse_aggregate": 36, "manufactured_sand": 24, "ready_mix_concrete": 20,
                  "sw_binder": 3, "road_base": 8},
    "D-shijiazhuang": {"coarse_aggregate": 20, "manufactured_sand": 12, "cement": 16,
                       "sw_binder": 10, "road_base": 12, "bricks_blocks": 6},
    "D-tangshan": {"cement": 18, "sw_binder": 10, "road_base": 12, "eaf_steel": 20,
                   "recovered_metals": 12},
    "D-handan": {"cement": 10, "road_base": 10, "eaf_steel": 19},
    "D-taiyuan": {"cement": 12, "sw_binder": 30, "road_base": 24, "bricks_blocks": 16,
                  "eco_cement": 2},
    "D-hohhot": {"cement": 10, "sw_binder": 28, "road_base": 20, "bricks_blocks": 12},
    "D-baotou": {"eaf_steel": 3, "recovered_metals": 6, "road_base": 10},
    "D-ordos": {"sw_binder": 20, "road_base": 15},
    "D-jinan": {"coarse_aggregate": 18, "manufactured_sand": 12, "cement": 26, "sw_binder": 12,
                "road_base": 20, "bricks_blocks": 12, "eco_cement": 3, "rubber_powder": 0.3,
                "retreaded_tyres": 0.1},
    "D-qingdao": {"coarse_aggregate": 18, "manufactured_sand": 12, "cement": 14,
                  "eaf_steel": 18, "recycled_pellets": 2.0},
    "D-weifang": {"sorted_paper": 10.0},
    "D-zhengzhou": {"coarse_aggregate": 20, "manufactured_sand": 14, "cement": 28,
                    "sw_binder": 12, "road_base": 24, "bricks_blocks": 12, "eco_cement": 3,
                    "recycled_aluminium": 1.0},
}
# Demands with their own basis (instead of [demand-est]); battery products: battery_demands
DEMAND_NOTE: dict[tuple[str, str], str] = {}
# Virgin (natural) sand and gravel the JJJ markets can buy [jjj-quarries-2017, V]: 314 mines of
# 112.6 Mt/yr design capacity in Jun 2017, phased down by VIRGIN_PHASE_DOWN a year since then
# [U: estimate of quarry closures around Beijing; national output fell 11.5% in 2022, csga-2022
# V], and shared among the modelled JJJ markets by their aggregate demand [U]. Other provinces:
# no public capacity figure found, so their virgin aggregate stays unlimited; cement clinker and
# iron ore likewise (no row = unlimited).
JJJ_QUARRY_MT = 112.6
JJJ_QUARRY_YEAR = 2017
VIRGIN_PHASE_DOWN = 0.10
JJJ_PROVINCES = ("110000", "120000", "130000")
VIRGIN_MATERIALS = ("coarse_aggregate", "manufactured_sand")
DEMAND_TREND = {2020: 1.05, 2021: 1.04, 2022: 1.0}  # construction peaked 2020–21 [demand-est, U]
# Delivered virgin-alternative price, yuan/t, by product and year; 'premium' markets below.
PRICE = {  # product: (2020, 2021, 2022)
    "coarse_aggregate": (85, 90, 80), "manufactured_sand": (100, 105, 95),
    "sw_binder": (200, 220, 200), "cement": (280, 320, 290), "ready_mix_concrete": (180, 190, 175),
    "road_base": (60, 65, 60), "bricks_blocks": (200, 210, 200), "eaf_steel": (3600, 4800, 4200),
    "recycled_copper": (46000, 64000, 63000), "recycled_aluminium": (14500, 19500, 19000),
    "retreaded_tyres": (8000, 8000, 8000), "rubber_powder": (2000, 2200, 2000),
    "recycled_pellets": (6000, 7000, 6500), "sorted_paper": (2000, 2700, 2400),
    "battery_modules": (25000, 30000, 30000), "battery_salts": (60000, 90000, 120000),
    "recovered_metals": (800, 1000, 900), "eco_cement": (260, 300, 270),
}
PREMIUM = {  # site: product: (2020, 2021, 2022) — Beijing and Tianjin are import-dependent markets
    "D-beijing": {"coarse_aggregate": (130, 135, 110), "manufactured_sand": (140, 145, 115),
                  "ready_mix_concrete": (210, 220, 200)},
    "D-tianjin": {"coarse_aggregate": (105, 110, 95), "manufactured_sand": (115, 120, 100)},
    "D-xiongan": {"coarse_aggregate": (110, 115, 100), "manufactured_sand": (120, 125, 105)},
}
PRICE_SOURCE = {
    "coarse_aggregate": "[prices-csga] national crushed stone 94 (Dec 2022) [V]; [prices-est] city values [U]",
    "manufactured_sand": "[prices-csga] national manufactured sand 100 (Dec 2022) [V]; [prices-est] [U]",
    "eaf_steel": "[prices-est] billet price recalled [U]",
}

# ---------------------------------------------------------------------------------------------
# Facilities: (id, site, process, first year, capacity Mt/yr, max capacity Mt/yr when
# expandable else 0, candidate, source). Sites "G-..." are generator sites (co-located users);
# "U-<prefecture>" is the aggregated existing utilizer cluster of that prefecture.
# ---------------------------------------------------------------------------------------------
E, C = False, True
FACILITIES = [
    # --- task 三: tailings and waste rock to aggregate (Chengde 50–55 Mt/yr used [chengde-2019/2018])
    ("F-chengde-tailings-sand", "S-chengde", "tailings_sand", 2015, 30, 40, E, "[chengde-2019] 13 firms use 50 Mt/yr; [chengde-2018] ~55 Mt/yr; split over Chengde sites [U]"),
    ("F-chengde-tailings-blocks", "S-chengde", "tailings_blocks", 2015, 5, 0, E, "[chengde-2019] share of the 50–55 Mt/yr [U]"),
    ("F-luanping-tailings-sand", "S-luanping", "tailings_sand", 2016, 8, 12, E, "[chengde-2019] share [U]; [beijing-green-bases]"),
    ("F-luanping-aggregate", "S-luanping", "waste_rock_aggregate", 2016, 5, 8, E, "[beijing-green-bases]; capacity [U]"),
    ("F-fengning-tailings-sand", "S-fengning", "tailings_sand", 2018, 7, 0, E, "[chengde-2019] share [U]; [fengning-2020]"),
    ("F-kuancheng-tailings-sand", "S-kuancheng", "tailings_sand", 2017, 5, 0, E, "[chengde-2019] share [U]"),
    ("F-qianan-aggregate", "S-qianan", "waste_rock_aggregate", 2016, 12, 20, E, "[beijing-green-bases]; capacity [U]"),
    ("F-qianan-tailings-sand", "S-qianan", "tailings_sand", 2018, 6, 0, E, "[est-capacity] [U]"),
    ("F-qianxi-tailings-sand", "S-qianxi", "tailings_sand", 2015, 8, 0, E, "[qianxi-2015] >20 Mt/yr tailings, local use; capacity [U]"),
    ("F-qianxi-tailings-blocks", "S-qianxi", "tailings_blocks", 2015, 2, 0, E, "[qianxi-2015] aerated blocks with 72.6% tailings; capacity [U]"),
    ("F-luanzhou-tailings-sand", "S-luanzhou", "tailings_sand", 2018, 4, 0, E, "[est-capacity] [U]"),
    ("F-zhangjiakou-tailings-sand", "S-zhangjiakou", "tailings_sand", 2017, 5, 0, E, "[est-capacity] [U]"),
    ("F-zhangjiakou-aggregate", "S-zhangjiakou", "waste_rock_aggregate", 2017, 4, 0, E, "[est-capacity] [U]"),
    ("F-wuan-tailings-sand", "S-wuan", "tailings_sand", 2018, 3, 0, E, "[est-capacity] [U]"),
    ("F-baotou-tailings-sand", "S-baotou-co", "tailings_sand", 2018, 3, 0, E, "[est-capacity] [U]"),
    ("F-370100-tailings-sand", "U-370100", "tailings_sand", 2017, 3, 0, E, "[est-capacity] [U]"),
    ("F-140600-gangue-aggregate", "S-shuozhou", "gangue_aggregate", 2016, 6, 10, E, "[shuozhou-2016] base; capacity [U]"),
    ("F-140400-gangue-aggregate", "S-changzhi-co", "gangue_aggregate", 2017, 4, 0, E, "[est-capacity] [U]"),
    ("F-150600-gangue-aggregate", "S-ordos-co", "gangue_aggregate", 2018, 6, 0, E, "[est-capacity] [U]"),
    # --- task 四: metallurgy + coal-power co-utilization
    ("F-caofeidian-binder", "S-caofeidian", "co_binder", 2018, 8, 14, E, "[est-capacity] [U]"),
    ("F-caofeidian-road-base", "S-caofeidian", "slag_road_base", 2018, 4, 0, E, "[est-capacity] [U]"),
    ("F-caofeidian-slag-metal", "S-caofeidian", "steel_slag_metal", 2015, 5, 0, E, "[est-capacity] [U]"),
    ("F-130200-scm-cement", "U-130200", "scm_cement", 2010, 15, 0, E, "[hebei-cement-2023] Hebei cement took ~31 Mt slag+gypsum+ash in 2023; split by prefecture [U]"),
    ("F-wuan-binder", "S-wuan", "co_binder", 2019, 5, 8, E, "[est-capacity] [U]"),
    ("F-wuan-slag-metal", "S-wuan", "steel_slag_metal", 2015, 4, 0, E, "[est-capacity] [U]"),
    ("F-130400-scm-cement", "U-130400", "scm_cement", 2010, 8, 0, E, "[hebei-cement-2023] share [U]"),
    ("F-130400-road-base", "U-130400", "slag_road_base", 2017, 5, 0, E, "[est-capacity] [U]"),
    ("F-130100-scm-cement", "U-130100", "scm_cement", 2010, 11, 0, E, "[hebei-cement-2023] share [U]"),
    ("F-130100-flyash-binder", "U-130100", "flyash_binder", 2019, 4, 0, E, "[est-capacity] [U]"),
    ("F-130700-flyash-binder", "U-130700", "flyash_binder", 2019, 3, 0, E, "[est-capacity] [U]"),
    ("F-120000-scm-cement", "U-120000", "scm_cement", 2010, 3, 0, E, "[est-capacity] [U]"),
    ("F-120000-binder", "U-120000", "co_binder", 2019, 2, 0, E, "[est-capacity] [U]"),
    ("F-shuozhou-flyash-binder", "S-shuozhou", "flyash_binder", 2016, 10, 16, E, "[shuozhou-2016b] 145 firms use 34 Mt/yr; [shuozhou-2016] park takes 3.3 Mt/yr fly ash; split [U]"),
    ("F-shuozhou-blocks", "S-shuozhou", "fly_ash_blocks", 2016, 4, 0, E, "[shuozhou-2016b] share [U]"),
    ("F-shuozhou-ceramsite", "S-shuozhou", "ceramsite", 2018, 3, 0, E, "[shuozhou-2016b] share [U]"),
    ("F-shuozhou-gangue-bricks", "S-shuozhou", "gangue_bricks", 2014, 6, 0, E, "[shuozhou-2016b] share [U]"),
    ("F-140100-scm-cement", "U-140100", "scm_cement", 2010, 8, 0, E, "[est-capacity] [U]"),
    ("F-140100-binder", "U-140100", "co_binder", 2019, 3, 0, E, "[est-capacity] [U]"),
    ("F-changzhi-flyash-binder", "S-changzhi-co", "flyash_binder", 2018, 6, 0, E, "[est-capacity] [U]"),
    ("F-changzhi-scm-cement", "S-changzhi-co", "scm_cement", 2010, 5, 0, E, "[est-capacity] [U]"),
    ("F-140200-flyash-binder", "U-140200", "flyash_binder", 2019, 5, 0, E, "[est-capacity] [U]"),
    ("F-140200-gangue-bricks", "U-140200", "gangue_bricks", 2012, 5, 0, E, "[est-capacity] [U]"),
    ("F-140500-gangue-bricks", "U-140500", "gangue_bricks", 2012, 4, 0, E, "[est-capacity] [U]"),
    ("F-140700-gangue-bricks", "U-140700", "gangue_bricks", 2012, 4, 0, E, "[est-capacity] [U]"),
    ("F-141000-scm-cement", "U-141000", "scm_cement", 2010, 4, 0, E, "[est-capacity] [U]"),
    ("F-141000-road-base", "U-141000", "slag_road_base", 2018, 4, 0, E, "[est-capacity] [U]"),
    ("F-lvliang-gangue-bricks", "S-lvliang-redmud", "gangue_bricks", 2015, 5, 0, E, "[lvliang-2023] gangue 25% used (≈9.6 Mt); capacity [U]"),
    ("F-lvliang-flyash-binder", "S-lvliang-redmud", "flyash_binder", 2019, 2, 0, E, "[lvliang-2023] fly ash 13.7% used; capacity [U]"),
    ("F-baotou-binder", "S-baotou-co", "co_binder", 2018, 3, 6, E, "[est-capacity] [U]"),
    ("F-baotou-flyash-binder", "S-baotou-co", "flyash_binder", 2018, 5, 0, E, "[est-capacity] [U]"),
    ("F-baotou-scm-cement", "S-baotou-co", "scm_cement", 2010, 4, 0, E, "[est-capacity] [U]"),
    ("F-150100-flyash-binder", "U-150100", "flyash_binder", 2018, 4, 0, E, "[hohhot-2023] 9.51 Mt used; capacity [U]"),
    ("F-150100-blocks", "U-150100", "fly_ash_blocks", 2016, 3, 0, E, "[hohhot-2023] share [U]"),
    ("F-150100-scm-cement", "U-150100", "scm_cement", 2010, 3, 0, E, "[est-capacity] [U]"),
    ("F-ordos-flyash-binder", "S-ordos-co", "flyash_binder", 2019, 8, 12, E, "[est-capacity] [U]"),
    ("F-ordos-gangue-bricks", "S-ordos-co", "gangue_bricks", 2014, 5, 0, E, "[est-capacity] [U]"),
    ("F-ordos-road-base", "S-ordos-co", "slag_road_base", 2018, 3, 0, E, "[est-capacity] [U]"),
    ("F-150300-slag-metal", "U-150300", "slag_multi_metal", 2018, 6, 0, E, "[est-capacity] [U]"),
    ("F-jinan-binder", "S-jinan-co", "co_binder", 2018, 5, 8, E, "[est-capacity] [U]"),
    ("F-jinan-scm-cement", "S-jinan-co", "scm_cement", 2010, 8, 0, E, "[est-capacity] [U]"),
    ("F-jinan-slag-metal", "S-jinan-co", "steel_slag_metal", 2015, 3, 0, E, "[est-capacity] [U]"),
    ("F-371100-scm-cement", "U-371100", "scm_cement", 2012, 6, 0, E, "[est-capacity] [U]"),
    ("F-371100-road-base", "U-371100", "slag_road_base", 2018, 4, 0, E, "[est-capacity] [U]"),
    ("F-370800-flyash-binder", "U-370800", "flyash_binder", 2018, 9, 0, E, "[est-capacity] [U]"),
    ("F-370800-gangue-bricks", "U-370800", "gangue_bricks", 2012, 4, 0, E, "[est-capacity] [U]"),
    ("F-370700-scm-cement", "U-370700", "scm_cement", 2010, 15, 0, E, "[est-capacity] [U]"),
    ("F-370700-blocks", "U-370700", "fly_ash_blocks", 2016, 4, 0, E, "[est-capacity] [U]"),
    ("F-371500-fgd-products", "U-371500", "fgd_gypsum_products", 2016, 3, 0, E, "[est-capacity] [U]"),
    ("F-371500-pg-products", "U-371500", "phosphogypsum_products", 2019, 1, 0, E, "[est-capacity] [U]"),
    ("F-370600-slag-metal", "U-370600", "slag_multi_metal", 2016, 3, 0, E, "[est-capacity] [U]"),
    ("F-anyang-binder", "S-anyang-co", "co_binder", 2018, 4, 0, E, "[est-capacity] [U]"),
    ("F-anyang-scm-cement", "S-anyang-co", "scm_cement", 2010, 6, 0, E, "[est-capacity] [U]"),
    ("F-anyang-road-base", "S-anyang-co", "slag_road_base", 2018, 3, 0, E, "[est-capacity] [U]"),
    ("F-410100-scm-cement", "U-410100", "scm_cement", 2010, 11, 0, E, "[est-capacity] [U]"),
    ("F-410100-flyash-binder", "U-410100", "flyash_binder", 2018, 5, 0, E, "[est-capacity] [U]"),
    ("F-410400-gangue-bricks", "U-410400", "gangue_bricks", 2012, 4, 0, E, "[est-capacity] [U]"),
    ("F-410300-scm-cement", "U-410300", "scm_cement", 2010, 5, 0, E, "[est-capacity] [U]"),
    ("F-jiyuan-slag-metal", "U-419001", "slag_multi_metal", 2016, 3, 0, E, "[est-capacity] [U]"),
    # concrete, precast and C&D near demand centres
    ("F-beijing-concrete", "S-beijing-concrete", "co_concrete", 2019, 10, 0, E, "[est-capacity] [U]"),
    ("F-beijing-cd-aggregate", "S-beijing-concrete", "cd_aggregate", 2018, 8, 0, E, "[est-capacity] [U]"),
    ("F-tianjin-concrete", "S-tianjin-concrete", "co_concrete", 2019, 6, 0, E, "[est-capacity] [U]"),
    ("F-tianjin-cd-aggregate", "S-tianjin-concrete", "cd_aggregate", 2018, 4, 0, E, "[est-capacity] [U]"),
    ("F-xiongan-concrete", "S-xiongan", "co_concrete", 2020, 6, 10, E, "[plan] task 十一; capacity [U]"),
    ("F-luanzhou-precast", "S-luanzhou", "xiongan_precast", 2020, 2, 4, E, "[plan] task 十一; capacity [U]"),
    # --- task 五: red mud (Zibo, Jiaozuo, Lüliang)
    ("F-zibo-redmud-cement", "S-zibo-redmud", "red_mud_eco_cement", 2015, 4, 0, E, "[chalco-shandong] up to 30% red mud in raw meal; capacity [U]"),
    ("F-zibo-redmud-iron", "S-zibo-redmud", "red_mud_iron", 2019, 1, 0, E, "[est-capacity] [U]"),
    ("F-jiaozuo-redmud-cement", "S-jiaozuo-redmud", "red_mud_eco_cement", 2018, 2, 0, E, "[est-capacity] [U]"),
    ("F-lvliang-redmud-iron", "S-lvliang-redmud", "red_mud_iron", 2020, 0.5, 0, E, "[lvliang-2023] red mud 2.3% used; capacity [U]"),
    # --- task 六: scrap metals
    ("F-tangshan-eaf", "U-130200", "scrap_eaf", 2010, 18, 0, E, "[est-capacity] [U]"),
    ("F-handan-eaf", "U-130400", "scrap_eaf", 2010, 8, 0, E, "[est-capacity] [U]"),
    ("F-tianjin-eaf", "U-120000", "scrap_eaf", 2010, 10, 0, E, "[est-capacity] [U]"),
    ("F-371100-eaf", "U-371100", "scrap_eaf", 2012, 14, 0, E, "[est-capacity] [U]"),
    ("F-370100-eaf", "U-370100", "scrap_eaf", 2012, 7, 0, E, "[est-capacity] [U]"),
    ("F-anyang-eaf", "S-anyang-co", "scrap_eaf", 2012, 10, 0, E, "[est-capacity] [U]"),
    ("F-baotou-eaf", "S-baotou-park", "scrap_eaf", 2012, 3, 0, E, "[est-capacity] [U]"),
    ("F-ziya-copper", "S-ziya", "scrap_copper_refining", 2012, 0.8, 0, E, "[plan] task 九 names Ziya; capacity [U]"),
    ("F-ziya-aluminium", "S-ziya", "scrap_al_remelt", 2012, 0.6, 0, E, "[est-capacity] [U]"),
    ("F-linyi-copper", "S-linyi", "scrap_copper_refining", 2014, 0.4, 0, E, "[est-capacity] [U]"),
    ("F-linyi-aluminium", "S-linyi", "scrap_al_remelt", 2014, 0.6, 0, E, "[est-capacity] [U]"),
    ("F-xuchang-aluminium", "S-xuchang", "scrap_al_remelt", 2014, 0.6, 0, E, "[est-capacity] [U]"),
    # --- task 七: tyres, plastics, paper
    ("F-dingzhou-rubber-powder", "S-dingzhou", "tyre_rubber_powder", 2014, 0.4, 0, E, "[plan] task 七 names Dingzhou; capacity [U]"),
    ("F-dingzhou-plastics", "S-dingzhou", "plastic_pelletising", 2014, 1.0, 0, E, "[est-capacity] [U]"),
    ("F-jinan-retreading", "S-jinan-polymer", "tyre_retreading", 2016, 0.1, 0, E, "[plan] task 七 names Jinan; capacity [U]"),
    ("F-jinan-rubber-powder", "S-jinan-polymer", "tyre_rubber_powder", 2016, 0.3, 0, E, "[est-capacity] [U]"),
    ("F-jiaozuo-rubber-powder", "S-jiaozuo-polymer", "tyre_rubber_powder", 2016, 0.3, 0, E, "[plan] task 七 names Jiaozuo; capacity [U]"),
    ("F-jiaozuo-plastics", "S-jiaozuo-polymer", "plastic_pelletising", 2016, 0.5, 0, E, "[est-capacity] [U]"),
    ("F-pingyao-rubber-powder", "S-pingyao-polymer", "tyre_rubber_powder", 2016, 0.2, 0, E, "[plan] task 七 names Pingyao; capacity [U]"),
    ("F-ziya-plastics", "S-ziya", "plastic_pelletising", 2012, 0.8, 0, E, "[est-capacity] [U]"),
    ("F-linyi-plastics", "S-linyi", "plastic_pelletising", 2014, 0.8, 0, E, "[est-capacity] [U]"),
    ("F-110000-paper", "U-110000", "paper_sorting", 2012, 3.0, 0, E, "[est-capacity] [U]"),
    ("F-120000-paper", "U-120000", "paper_sorting", 2012, 2.5, 0, E, "[est-capacity] [U]"),
    ("F-370100-paper", "U-370100", "paper_sorting", 2012, 3.0, 0, E, "[est-capacity] [U]"),
    # --- task 八: batteries
    ("F-taiyuan-battery-cascade", "S-battery-taiyuan", "battery_cascade", 2020, 0.0015, 0, E, "[plan] task 八; capacity [bat-capacity-est] [U]"),
    ("F-zibo-battery-recycling", "S-battery-zibo", "battery_recycling", 2019, 0.004, 0, E, "[plan] task 八; capacity [bat-capacity-est] [U]"),
    # --- task 十: cement kilns co-processing city wastes
    ("F-xingtai-kiln-msw", "S-kiln-xingtai", "kiln_msw", 2017, 0.17, 0, E, "[jidong-kilns] 170 kt/yr municipal/mixed waste [V]"),
    ("F-yangquan-kiln", "S-kiln-yangquan", "kiln_hazardous", 2017, 0.05, 0, E, "[jidong-kilns] 50 kt/yr [V]; waste type assumed hazardous [U]"),
    ("F-wenxi-kiln", "S-kiln-wenxi", "kiln_sludge", 2018, 0.06, 0, E, "[jidong-kilns] 60 kt/yr [V]; waste type assumed sludge [U]"),
    ("F-liulihe-kiln-sludge", "S-kiln-liulihe", "kiln_sludge", 2015, 0.18, 0, E, "[est-capacity] ~500 t/d recalled [U]"),
    ("F-zibo-kiln-msw", "S-kiln-zibo", "kiln_msw", 2018, 0.15, 0, E, "[est-capacity] default line 50–150 kt/yr [U]"),
    # --- candidates: the planner decides whether to build them (first usable year 2021)
    ("C-chengde-tailings-sand", "S-chengde", "tailings_sand", 2021, 20, 0, C, "[est-capacity] candidate [U]"),
    ("C-fengning-aggregate", "S-fengning", "waste_rock_aggregate", 2021, 6, 0, C, "[fengning-2020] ≥3 Gt tailings and waste rock stored; candidate [U]"),
    ("C-qianan-tailings-sand", "S-qianan", "tailings_sand", 2021, 10, 0, C, "[est-capacity] candidate [U]"),
    ("C-zhangjiakou-aggregate", "S-zhangjiakou", "waste_rock_aggregate", 2021, 6, 0, C, "[plan] task 三 names Zhangjiakou; candidate [U]"),
    ("C-zhangjiakou-tailings-sand", "S-zhangjiakou", "tailings_sand", 2021, 8, 0, C, "[est-capacity] candidate [U]"),
    ("C-shuozhou-gangue-aggregate", "S-shuozhou", "gangue_aggregate", 2021, 10, 0, C, "[est-capacity] candidate [U]"),
    ("C-ordos-gangue-aggregate", "S-ordos-co", "gangue_aggregate", 2021, 10, 0, C, "[est-capacity] candidate [U]"),
    ("C-baotou-tailings-sand", "S-baotou-co", "tailings_sand", 2021, 8, 0, C, "[est-capacity] candidate [U]"),
    ("C-caofeidian-binder-2", "S-caofeidian", "co_binder", 2021, 6, 0, C, "[est-capacity] candidate [U]"),
    ("C-shuozhou-flyash-binder-2", "S-shuozhou", "flyash_binder", 2021, 8, 0, C, "[est-capacity] candidate [U]"),
    ("C-ordos-flyash-binder-2", "S-ordos-co", "flyash_binder", 2021, 8, 0, C, "[est-capacity] candidate [U]"),
    ("C-changzhi-road-base", "S-changzhi-co", "slag_road_base", 2021, 5, 0, C, "[est-capacity] candidate [U]"),
    ("C-datong-flyash-binder", "U-140200", "flyash_binder", 2021, 6, 0, C, "[est-capacity] candidate [U]"),
    ("C-datong-ceramsite", "U-140200", "ceramsite", 2021, 3, 0, C, "[est-capacity] candidate [U] (high-value, task 五)"),
    ("C-shuozhou-fgd-products", "S-shuozhou", "fgd_gypsum_products", 2021, 2, 0, C, "[est-capacity] candidate [U] (task 五)"),
    ("C-ordos-blocks", "S-ordos-co", "fly_ash_blocks", 2021, 3, 0, C, "[est-capacity] candidate [U] (task 五)"),
    ("C-tangshan-blocks", "S-qianxi", "tailings_blocks", 2021, 3, 0, C, "[est-capacity] candidate [U] (task 五)"),
    ("C-caofeidian-slag-metal", "S-caofeidian", "slag_multi_metal", 2021, 2, 0, C, "[plan] task 五 (Hebei, Shandong); candidate [U]"),
    ("C-zibo-redmud-iron", "S-zibo-redmud", "red_mud_iron", 2021, 3, 0, C, "[plan] task 五 names Zibo; candidate [U]"),
    ("C-jiaozuo-redmud-iron", "S-jiaozuo-redmud", "red_mud_iron", 2021, 2, 0, C, "[plan] task 五 names Jiaozuo; candidate [U]"),
    ("C-lvliang-redmud-cement", "S-lvliang-redmud", "red_mud_eco_cement", 2021, 2, 0, C, "[plan] task 五 names Lüliang; candidate [U]"),
    ("C-xiongan-cd-aggregate", "S-xiongan", "cd_aggregate", 2021, 4, 0, C, "[plan] task 十一 (C&D used on site); candidate [U]"),
    ("C-xiongan-precast", "S-xiongan", "xiongan_precast", 2021, 4, 0, C, "[plan] task 十一; candidate [U]"),
    ("C-paper-tianjin", "S-paper-tianjin", "paper_sorting", 2021, 1.5, 0, C, "[plan] task 七 sorting centre; candidate [U]"),
    ("C-paper-beijing", "S-paper-beijing", "paper_sorting", 2021, 1.0, 0, C, "[plan] task 七 sorting centre; candidate [U]"),
    ("C-paper-langfang", "S-paper-langfang", "paper_sorting", 2021, 1.5, 0, C, "[plan] task 七 sorting centre; candidate [U]"),
    ("C-paper-weifang", "S-paper-weifang", "paper_sorting", 2021, 1.5, 0, C, "[plan] task 七 sorting centre; candidate [U]"),
    ("C-dingzhou-retreading", "S-dingzhou", "tyre_retreading", 2021, 0.1, 0, C, "[plan] task 七; candidate [U]"),
    ("C-ziya-aluminium-2", "S-ziya", "scrap_al_remelt", 2021, 1.0, 0, C, "[plan] 二（六） 再生铝高值化利用标杆企业; candidate [U]: existing remelting (1.8 Mt/yr) is below the region's ~3.5 Mt/yr scrap aluminium"),
    ("C-baoding-battery-cascade", "S-battery-baoding", "battery_cascade", 2021, 0.002, 0, C, "[plan] task 八 (Hebei); candidate, capacity [bat-capacity-est] [U]"),
    ("C-baotou-battery-cascade", "S-battery-baotou", "battery_cascade", 2021, 0.001, 0, C, "[plan] task 八 (Inner Mongolia); candidate, capacity [bat-capacity-est] [U]"),
    # usable from 2020: retired batteries may not be disposed of in any planned year
    ("C-tangshan-battery-recycling", "S-battery-tangshan", "battery_recycling", 2020, 0.008, 0, C, "[battery-candidates] candidate (Hebei's listed recycler is placed only by inference); capacity [bat-capacity-est] [U]"),
    ("C-jinan-battery-recycling", "S-battery-jinan", "battery_recycling", 2020, 0.004, 0, C, "[battery-candidates] candidate (Shandong's listed firm is not placed); capacity [bat-capacity-est] [U]"),
    ("C-tangshan-kiln-msw", "S-kiln-tangshan", "kiln_msw", 2021, 0.15, 0, C, "[plan] task 十 (Hebei); candidate [U]"),
    ("C-shijiazhuang-kiln-msw", "S-kiln-shijiazhuang", "kiln_msw", 2021, 0.15, 0, C, "[plan] task 十 (Hebei); candidate [U]"),
    ("C-jinan-kiln-msw", "S-kiln-jinan", "kiln_msw", 2021, 0.15, 0, C, "[plan] task 十 (Shandong); candidate [U]"),
]
ANNUITY = 0.06 / (1 - 1.06 ** -15)  # capex → yuan/yr at 6% over 15 years (catalog policy defaults)

# ---------------------------------------------------------------------------------------------
# Host plants (issue 8, items 9–10): lines that feed a host share its limits (catalog processes
# host / max_host_share / *_max). host_output_t = the host's output, t/yr.
# ---------------------------------------------------------------------------------------------
# Converter shops taking prepared scrap (plan 二（六）): crude steel of the converters, Mt/yr ~2020
# [crude-steel-2020, U]: prefecture crude steel as recalled × 0.9 (EAF ≈ 10% of China's crude
# steel), Tangshan and Handan split by SUBSITES. capacity_t = the whole metallic charge
# (BOF_CHARGE t per t steel), so the scrap ratio (catalog max_host_share), not the charging
# capacity, limits scrap use.
BOF_CHARGE = 1.09  # t metallic charge per t crude steel [U] (catalog scrap_bof)
CONVERTERS = [  # (facility, steel site, converter crude steel Mt/yr, prefecture crude steel Mt/yr)
    ("F-caofeidian-bof", "G-130200-steel-caofeidian", 58.5, "Tangshan ~144"),
    ("F-tangshan-bof", "G-130200-steel-city", 71.5, "Tangshan ~144"),
    ("F-wuan-bof", "G-130400-steel-wuan", 24.0, "Handan ~45"),
    ("F-handan-bof", "G-130400-steel-city", 16.0, "Handan ~45"),
    ("F-tianjin-bof", "G-120000-steel", 20.0, "Tianjin ~22"),
    ("F-rizhao-bof", "G-371100-steel", 27.0, "Rizhao ~30"),
    ("F-jinan-bof", "G-370100-steel", 12.0, "Jinan (Laiwu) ~13"),
    ("F-anyang-bof", "G-410500-steel", 13.0, "Anyang ~15"),
    ("F-baotou-bof", "G-150200-steel", 15.0, "Baotou ~17"),
    ("F-taiyuan-bof", "G-140100-steel", 10.0, "Taiyuan ~11"),
]
# Candidate scrap processing and distribution centres at the steel clusters (plan 二（六）:
# 支持钢铁生产企业与废钢回收加工企业合作，建设一体化大型废钢铁加工配送中心), input Mt/yr [U]:
# sized at ~10–15 large MIIT-compliant processors each (0.2 Mt/yr average, [scrap-national]).
SCRAP_CENTRES = [
    ("C-caofeidian-scrap-centre", "G-130200-steel-caofeidian", 3.0),
    ("C-wuan-scrap-centre", "G-130400-steel-wuan", 2.0),
    ("C-tianjin-scrap-centre", "G-120000-steel", 2.0),
    ("C-rizhao-scrap-centre", "G-371100-steel", 2.0),
    ("C-jinan-scrap-centre", "G-370100-steel", 2.0),
    ("C-anyang-scrap-centre", "G-410500-steel", 2.0),
    ("C-baotou-scrap-centre", "G-150200-steel", 2.0),  # Inner Mongolia: ~6 Mt scrap, one 3 Mt EAF
    ("C-taiyuan-scrap-centre", "G-140100-steel", 3.0),  # Shanxi: ~6 Mt scrap, no EAF in the dataset
]
# Clinker output of the kilns that co-process city wastes, Mt/yr [kiln-size, U]: no plant figures
# were found; each is taken as one 5,000 t/d line × 310 days ≈ 1.55 Mt/yr, the common size of
# the region's new dry-process lines.
KILN_CLINKER = 1.55
KILN_SITES = ("S-kiln-",)


def host_output(fid: str, site: str, process: str) -> tuple[float, str]:
    """Host output (Mt/yr) of a facility and its source text ('' for lines without a host)."""
    for cid, _site, steel, pref in CONVERTERS:
        if fid == cid:
            return steel, (f"; host_output_t = converter crude steel [crude-steel-2020] ({pref} Mt "
                           "crude steel × 0.9 converter share) [U]")
    if process.startswith("kiln_") and site.startswith(KILN_SITES):
        return KILN_CLINKER, "; host_output_t = kiln clinker [kiln-size] 5,000 t/d × 310 d [U]"
    return 0.0, ""


FACILITIES += [(fid, site, "scrap_bof", 2010, round(BOF_CHARGE * steel, 6), 0, E,
                f"[crude-steel-2020] converter shop [U]; capacity_t = metallic charge {BOF_CHARGE} t "
                "per t crude steel [U]") for fid, site, steel, _ in CONVERTERS]
FACILITIES += [(fid, site, "scrap_processing", 2021, cap, 0, C,
                "[plan] 二（六） 一体化大型废钢铁加工配送中心; candidate [U], size from [scrap-national]")
               for fid, site, cap in SCRAP_CENTRES]

# ---------------------------------------------------------------------------------------------
# 6. Bulk routes (gangue power, backfill, fly-ash admixture, slag powder, plasterboard). They carry
#    most of the region's real use of gangue, ash and slag, but no plant list was found, so their
#    existing capacity is calibrated [bulk-calibration, U] (details in SOURCES.md "Bulk routes"):
#    a) each prefecture's room for a waste = min(CELL_CAP, national type rate × province rate /
#       region rate) × its 2020 generation − the intake capacity of the facilities listed above;
#    b) the room goes to routes by fixed shares; backfill and gangue power sit at the generator
#       site (their waste cannot bear a haul), product routes at the province's two largest rooms;
#    c) each province's shares are scaled by one factor so that the existing capacity of the
#       dataset to take ISW in the province adds up to its utilization of 2020
#       (utilization_targets: the published figure, else the published rate of another year,
#       else the estimated rate PROVINCE_RATE), no route above CELL_CAP of what it takes;
#    d) 2021 and 2022: new rows of the same routes (year 2021 / 2022) add what that year's target
#       grows (capacity does not freeze at 2020 while generation grows) [sp-cap-growth].
# ---------------------------------------------------------------------------------------------
PROVINCE_RATE = {  # share of ISW generation utilized, ~2020 [prov-rates, U except Tianjin's rate V]
    "110000": 0.70, "120000": 0.995, "130000": 0.575, "140000": 0.425, "150000": 0.375,
    "370000": 0.80, "410000": 0.75,
}
TYPE_RATE = {  # national utilization rate by waste type: (rate, source key) [V]
    "coal_gangue": (0.721, "ndrc-2021"), "fly_ash": (0.714, "ndrc-2021"),
    "bf_slag": (0.887, "mee-2018"), "tailings": (0.271, "mee-2018"),
}
CELL_CAP = 0.9  # at most 90% of a prefecture's generation of a waste is used [U]
MIN_CELL = 1.5  # Mt/yr: smaller calibrated routes are left out (their room stays unallocated) [U]
POWER_MIN_ROOM = 4.0  # Mt/yr of gangue room for a gangue power plant (2×300 MW CFB ≈ 3.5 Mt/yr) [U]
POWER_SHARE = 0.55  # of the gangue room to power where a plant fits, the rest to backfill [U]
ADMIXTURE_SHARE = 0.4  # of the fly-ash room to concrete admixture, the rest to ash backfill [U]
HUBS = 2  # product routes: the province's two prefectures with the largest room
BULK_YEAR = 2015  # first year of the calibrated existing capacity (in operation before 2020)
ROUTES = {  # route: (catalog process, waste whose room it takes, generator sector it sits at)
    "gangue-power": ("gangue_power", "coal_gangue", "coal"),
    "gangue-backfill": ("gangue_backfill", "coal_gangue", "coal"),
    "mine-backfill": ("mine_backfill", "tailings", "mine"),
    "ash-backfill": ("ash_backfill", "fly_ash", "power"),
    "flyash-admixture": ("flyash_admixture", "fly_ash", "power"),
    "slag-powder": ("slag_powder", "bf_slag", "steel"),
    "plasterboard": ("fgd_gypsum_products", "fgd_gypsum", "power"),
}
SPLITS = {  # waste: {route: share of its room} [U]; gangue power only where POWER_MIN_ROOM fits
    "coal_gangue": {"gangue-power": POWER_SHARE, "gangue-backfill": 1 - POWER_SHARE},
    "tailings": {"mine-backfill": 1.0},
    "fly_ash": {"ash-backfill": 1 - ADMIXTURE_SHARE, "flyash-admixture": ADMIXTURE_SHARE},
    "bf_slag": {"slag-powder": 1.0},
}
HUB_ROUTES = {"flyash-admixture", "slag-powder"}  # products bear a haul: sited at the hubs

# Markets of the route products, t per resident per year [U] (SOURCES.md: admixture-market,
# plasterboard-market), over province residents [census-2020, U] and split to market nodes.
ADMIXTURE_PER_CAPITA = 0.25  # cement replaced by fly ash and slag powder in concrete
PLASTERBOARD_PER_CAPITA = 0.02  # gypsum board
PROVINCE_POPULATION = {"110000": 21.9, "120000": 13.9, "130000": 74.6, "140000": 34.9,
                       "150000": 24.0, "370000": 101.5, "410000": 99.4}  # million, 2020
MARKETS = {  # province: {demand node: share of the province market} [U]
    "110000": {"D-beijing": 1.0}, "120000": {"D-tianjin": 1.0},
    "130000": {"D-shijiazhuang": 0.3, "D-tangshan": 0.25, "D-handan": 0.2, "D-xiongan": 0.25},
    "140000": {"D-taiyuan": 1.0}, "150000": {"D-hohhot": 0.4, "D-baotou": 0.3, "D-ordos": 0.3},
    "370000": {"D-jinan": 0.4, "D-qingdao": 0.35, "D-weifang": 0.25}, "410000": {"D-zhengzhou": 1.0},
}

# Rail terminals: (site id, zh, en, region, lat, lon, handling yuan/t, capacity Mt/yr, source)
TERMINALS = [
    ("T-dahongmen", "大红门货场", "Dahongmen yard", "110000", 39.835, 116.405, 8, 3, "[rail-yards-2024] [V]; [hushiha-2020] unloads at Dahongmen [V]"),
    ("T-shuangqiao", "双桥货场", "Shuangqiao yard", "110000", 39.892, 116.574, 8, 2, "[rail-yards-2024] [V]"),
    ("T-niulanshan", "牛栏山货场", "Niulanshan yard", "110000", 40.219, 116.672, 8, 2, "[rail-yards-2024] [V]"),
    ("T-fangshan", "房山货场", "Fangshan yard", "110000", 39.730, 116.100, 8, 2, "[rail-yards-2024] [V]"),
    ("T-huairou", "怀柔货场", "Huairou yard", "110000", 40.310, 116.630, 8, 1.5, "[rail-yards-2024] [V]"),
    ("T-dahuichang", "大灰厂货场", "Dahuichang yard", "110000", 39.860, 116.180, 8, 1.5, "[rail-yards-2024] [V]"),
    ("T-huangcun", "黄村货场", "Huangcun yard", "110000", 39.720, 116.330, 8, 2, "[rail-yards-2024] [V]"),
    ("T-fengtaixi", "丰台西货场", "Fengtai West yard", "110000", 39.850, 116.240, 8, 2, "[rail-yards-2024] [V]; [shaliang-2019] cement arrives here [V]"),
    ("T-mafang", "平谷马坊站", "Pinggu Mafang station", "110000", 40.100, 117.030, 8, 1, "[mafang-2020] first aggregate train from Qian'an 2020 [P]"),
    ("T-hushiha", "虎什哈站", "Hushiha station", "130800", 40.860, 116.970, 6, 2, "[hushiha-2020] ~0.3 Mt/yr loaded (10 trains/month × 3,200 t) [V]; capacity [U]"),
    ("T-chengde", "承德货场", "Chengde yard", "130800", 40.970, 117.930, 6, 3, "station and capacity [U] (loading station for Chengde aggregate named in [rail-yards-2024])"),
    ("T-luanxian", "滦县站", "Luanxian station", "130200", 39.740, 118.710, 6, 3, "[luanxian-2018] Luanxian→Dahongmen trains since 2018 [V]; capacity [U]"),
    ("T-qianxi", "迁西站", "Qianxi station", "130200", 40.150, 118.310, 6, 2.4, "[qianxi-yard] 2.4 Mt/yr yard on the Daqin line [V]"),
    ("T-zhangjiakou", "张家口货场", "Zhangjiakou yard", "130700", 40.780, 114.900, 6, 2, "Zhangjiakou loading station not found in sources [U]; origin named in [rail-yards-2024]"),
    ("T-tianjin", "天津南仓货场", "Tianjin Nancang yard", "120000", 39.190, 117.140, 8, 3, "named aggregate yards in Tianjin not found [U]"),
    ("T-xiongan", "雄安货场", "Xiong'an yard", "130600", 39.030, 116.050, 8, 4, "[U] illustrative receiving yard"),
    ("T-shuozhou", "朔州货场", "Shuozhou yard", "140600", 39.350, 112.420, 6, 4, "[U] illustrative loading yard"),
    ("T-shaliang", "沙良站", "Shaliang station", "150100", 40.800, 111.550, 6, 1, "[shaliang-2019] bulk cement trains to Fengtai West [V]; capacity [U]"),
]

CORRIDORS = [  # illustrative policy: minimum rail share of tonnes [corridor-illustrative, U]
    ("K-chengde-beijing-agg", "130800", "110000", "coarse_aggregate", 0.2),
    ("K-chengde-beijing-sand", "130800", "110000", "manufactured_sand", 0.2),
    ("K-tangshan-beijing-agg", "130200", "110000", "coarse_aggregate", 0.2),
    ("K-zhangjiakou-beijing-agg", "130700", "110000", "coarse_aggregate", 0.1),
]


# ---------------------------------------------------------------------------------------------
def allocate(province: str, material: str, total: float, fixed: dict[str, float] | None = None
             ) -> tuple[dict[str, float], float]:
    """Split a province-material total to prefectures; returns (Mt by prefecture, fixed scale).

    ``fixed`` = prefecture figures (city figures of ANCHORS, or published prefecture statistics)
    kept exactly when they fit (ANCHOR_ROOM); default: the ANCHORS of ``material``."""
    sector = SECTOR[material]
    weights = dict(WEIGHTS[province].get(sector, {}))
    anchors = ({p: v for (p, m), (v, _, _) in ANCHORS.items() if m == material and parent_of(p) == province}
               if fixed is None else dict(fixed))
    for p in anchors:
        weights.pop(p, None)
    if not weights and not anchors:
        raise ValueError(f"no prefecture weights for {province} {material}")
    fixed_sum = sum(anchors.values())
    if fixed_sum <= ANCHOR_ROOM * total and weights:
        rest = total - fixed_sum
        wsum = sum(weights.values())
        out = dict(anchors) | {p: rest * w / wsum for p, w in weights.items()}
        return out, 1.0
    scale = total / (fixed_sum + sum(weights.values()))  # anchors become weights on the same scale
    return {p: v * scale for p, v in (anchors | weights).items()}, scale


def cited(path: Path, line: int, row: dict[str, str], *, several: bool = False) -> list[str]:
    """The source keys a row of a dataset input file cites (one, or with ``several`` one or more
    separated by ';'), checked with its confidence against the sources table's own rules
    (``provenance.KEY``, ``provenance.LEVELS``); a located error otherwise."""
    from resynergy.datasets.provenance import KEY, LEVELS

    keys = [k for k in row["source"].split(";") if k] if several else [row["source"]]
    if not keys or not all(KEY.match(k) for k in keys):
        raise input_error(path, line, "source", row["source"],
                          "source keys separated by ';'" if several else "one source key (lower case)")
    if row["confidence"] not in LEVELS:
        raise input_error(path, line, "confidence", row["confidence"], "V, P or U")
    return keys


def read_statistics(path: Path) -> dict[tuple[str, int, str], dict]:
    """A statistics file (statistics.csv, statistics-prefecture.csv) as {(region, year, item):
    row}, every cell checked; {} when the file does not exist."""
    if not path.exists():
        return {}
    out: dict[tuple[str, int, str], dict] = {}
    for line, r in input_rows(path, STATISTICS_COLUMNS):
        if r["region"] not in PROVINCE_OF:
            raise input_error(path, line, "region", r["region"], "a province or prefecture code of the dataset")
        try:
            year = int(r["year"])
        except ValueError:
            raise input_error(path, line, "year", r["year"], "a year such as 2020") from None
        item = r["item"]
        material = item.removeprefix("isw_")
        # isw_<something> that is no single catalog material (e.g. tailings and waste rock
        # together) is kept but not used by the build (only isw_<ISW material> rows are)
        unit = STATISTICS_ITEMS.get(item) or ("Mt" if item.startswith("isw_") and material else "")
        if not unit:
            raise input_error(path, line, "item", item, "isw_generated/utilized/disposed/stored, "
                               "isw_<ISW material>, or an activity item (crude_steel, raw_coal, …)")
        if r["unit"] != unit:
            raise input_error(path, line, "unit", r["unit"], unit)
        try:
            value = float(r["value"])
            tolerance = float(r["tolerance"]) if r["tolerance"].strip() else None
        except ValueError:
            raise input_error(path, line, "value/tolerance", (r["value"], r["tolerance"]),
                               "numbers (tolerance may be blank)") from None
        if value < 0 or (tolerance is not None and not 0 <= tolerance < 1):
            raise input_error(path, line, "value/tolerance", (r["value"], r["tolerance"]),
                               "value ≥ 0 and 0 ≤ tolerance < 1")
        cited(path, line, r)
        key = (r["region"], year, item)
        if key in out:
            raise input_error(path, line, "region/year/item", key, "one row per region, year and item")
        out[key] = {"region": r["region"], "year": year, "item": item, "value": value,
                    "tolerance": tolerance, "source": r["source"], "confidence": r["confidence"],
                    "note": r["note"]}
    return out


def read_factors(path: Path = FACTORS) -> dict[tuple[str, str], dict]:
    """factors.csv as {(material, activity): row}: t of a waste per unit of an activity."""
    out: dict[tuple[str, str], dict] = {}
    for line, r in input_rows(path, FACTORS_COLUMNS):
        if r["material"] not in ISW:
            raise input_error(path, line, "material", r["material"], "an industrial-waste material code")
        if r["activity"] not in STATISTICS_ITEMS:
            raise input_error(path, line, "activity", r["activity"], "an activity item of statistics.csv")
        try:
            value = float(r["value"])
        except ValueError:
            raise input_error(path, line, "value", r["value"], "a number") from None
        if not 0 < value < 10:
            raise input_error(path, line, "value", r["value"], "0 < t per unit < 10")
        cited(path, line, r)
        out[(r["material"], r["activity"])] = {**r, "value": value}
    return out


def cite(row: dict) -> str:
    """The source cell fragment of a statistic or factor row: ``[key] [V]``."""
    return f"[{row['source']}] [{row['confidence']}]"


def province_isw(prov: str, year: int, stats: dict) -> tuple[float, str, list[str], str]:
    """Provincial ISW generation of a year, Mt: the published figure of that year; else the
    province's nearest published year × the national trend; else the estimate × the trend.
    Returns (Mt, source cell, source keys, confidence)."""
    row = stats.get((prov, year, "isw_generated"))
    if row:
        return row["value"], cite(row), [row["source"]], row["confidence"]
    published = sorted(y for (r, y, i) in stats if r == prov and i == "isw_generated")
    if published:
        y0 = min(published, key=lambda y: (abs(y - year), y))
        r0 = stats[(prov, y0, "isw_generated")]
        mt = r0["value"] * NATIONAL_ISW[year][0] / NATIONAL_ISW[y0][0]
        return (mt, f"{cite(r0)} ({y0}) × [mee-trend] {y0}→{year} [U]", [r0["source"], "mee-trend"], "U")
    mt, src, conf = PROVINCE_ISW[prov]
    if year == 2020:
        return mt, f"[{src}] [{conf}]", [src], conf
    return mt * TREND[year], f"[{src}] [{conf}] × [mee-trend] [U]", [src, "mee-trend"], "U"


def material_totals(prov: str, year: int, totals: dict[int, tuple[float, str]], stats: dict,
                    factors: dict) -> tuple[dict[str, tuple[float, str]], dict]:
    """Split a provincial ISW total into materials: a published provincial material figure, else
    activity × factor where both are sourced (a year without the activity figure keeps the
    material's share of the provincial total from the nearest year with it); the residual
    (total − those) over the other materials by SPLIT [est-split].
    ``totals`` = {year: (provincial total Mt, its source cell)}. Returns ({material: (Mt,
    source cell)}, residual note)."""
    total, total_cite = totals[year]
    derived: dict[str, tuple[float, str]] = {}
    for (material, activity), f in sorted(factors.items()):
        a = stats.get((prov, year, activity))
        if a:
            derived[material] = (a["value"] * f["value"],
                                 f"{cite(a)} {activity} {a['value']:g} Mt × {cite(f)} {f['value']:g} t/t")
            continue
        have = sorted(y for y in totals if (prov, y, activity) in stats)
        if have:
            y0 = min(have, key=lambda y: (abs(y - year), y))
            a = stats[(prov, y0, activity)]
            derived[material] = (a["value"] * f["value"] * total / totals[y0][0],
                                 f"{cite(a)} {activity} {a['value']:g} Mt ({y0}) × {cite(f)} "
                                 f"{f['value']:g} t/t, × provincial total {year}/{y0} [U]")
    for material in ISW:
        d = stats.get((prov, year, f"isw_{material}"))
        if d:
            derived[material] = (d["value"], cite(d))
    fixed = sum(v for v, _ in derived.values())
    scale = min(1.0, ACTIVITY_ROOM * total / fixed) if fixed else 1.0
    if scale < 1.0:
        derived = {m: (v * scale, f"{c} scaled ×{scale:.3f} into {total_cite} [U]")
                   for m, (v, c) in derived.items()}
    others = {m: s for m, s in SPLIT[prov].items() if m not in derived}
    rest = total - sum(v for v, _ in derived.values())
    osum = sum(others.values())
    out = dict(derived) | {m: (rest * s / osum, f"{total_cite} − activity-derived materials, "
                                                 f"residual × [est-split] [U]")
                           for m, s in others.items()}
    note = {"province": prov, "year": year, "total": total, "derived": {m: v for m, (v, _) in derived.items()},
            "residual": rest, "scale": scale}
    return out, note


def fixed_cells(prov: str, material: str, year: int, pref_stats: dict
                ) -> dict[str, tuple[float, str, str]]:
    """Prefecture figures kept exactly for a province-material-year: ANCHORS (city figures, any
    year) replaced by published prefecture statistics of that year where statspref found one."""
    out = {p: (v, f"[{src}] city figure [{conf}]", conf) for (p, m), (v, src, conf) in ANCHORS.items()
           if m == material and parent_of(p) == prov}
    published: dict[str, list[int]] = defaultdict(list)
    for (p, y, item) in pref_stats:
        if item == f"isw_{material}" and parent_of(p) == prov:
            published[p].append(y)
    for p, years in sorted(published.items()):  # that year's figure, else the nearest year's
        y0 = min(years, key=lambda y: (abs(y - year), y))
        r = pref_stats[(p, y0, f"isw_{material}")]
        if y0 == year:
            out[p] = (r["value"], f"{cite(r)} prefecture statistic", r["confidence"])
        else:  # a figure of another year applied: at best P
            conf = "U" if r["confidence"] == "U" else "P"
            out[p] = (r["value"], f"{cite(r)} prefecture statistic of {y0} used for {year} [{conf}]", conf)
    return out


def r6(x: float) -> float:
    """Tonnes rounded to 1 t (CSV readability; totals stay within 0.5% of the calibration)."""
    return float(round(x))


def offset(code: str, delta: tuple[float, float]) -> tuple[float, float]:
    """The seat moved by ``delta`` (so co-located generators do not overlap on the map), the
    move mirrored or halved when it would leave the province's outline."""
    lat, lon = SEAT[code]
    dlat, dlon = delta
    for f in (1, 0.5, 0):
        for a, b in ((dlat, dlon), (-dlat, -dlon), (dlat, -dlon), (-dlat, dlon)):
            p = round(lat + a * f, 3), round(lon + b * f, 3)
            if datasets.in_province(PROVINCE_OF[code], *p):
                return p
    raise ValueError(f"seat of {code} {SEAT[code]} lies outside its province outline")


def route_markets() -> dict[str, dict[str, float]]:
    """Mt/yr (2022) of the bulk-route products each market node takes on top of DEMAND: cement
    replaced by admixtures, and gypsum board (per resident × residents × the node's share)."""
    out: dict[str, dict[str, float]] = defaultdict(dict)
    for prov, nodes in MARKETS.items():
        for sid, share in nodes.items():
            residents = PROVINCE_POPULATION[prov] * share
            out[sid] = {"cement": residents * ADMIXTURE_PER_CAPITA,
                        "bricks_blocks": residents * PLASTERBOARD_PER_CAPITA}
    return out


def generator_site(pref: str, sector: str) -> str:
    """The generator site of a prefecture's sector (its largest named sub-site when split)."""
    subs = SUBSITES.get((pref, sector))
    if subs:
        return f"G-{pref}-{sector}-{max(subs, key=lambda s: s[1])[0]}"
    return f"G-{pref}-{sector}"


def isw_by_prefecture(supplies: list[dict], sites: dict[str, dict], facilities: list[dict],
                      year: int = 2020
                      ) -> tuple[dict[tuple[str, str], float], dict[tuple[str, str], float]]:
    """(prefecture, waste) → generation of ``year``, and → intake capacity of the existing
    facilities listed so far that operate in ``year``, both in Mt/yr."""
    inputs = read_process_inputs()
    gen: dict[tuple[str, str], float] = defaultdict(float)
    for s in supplies:
        if s["year"] == year and s["material"] in ISW:
            gen[(sites[s["site"]]["region"], s["material"])] += s["generation_t"] / MT
    existing: dict[tuple[str, str], float] = defaultdict(float)
    for f in facilities:
        if f["candidate"] == "false" and f["year"] <= year:
            for material, rate in inputs[f["process"]].items():
                if material in ISW:
                    existing[(sites[f["site"]]["region"], material)] += f["capacity_t"] / MT * rate
    return gen, existing


def utilization_targets(gen_prov: dict[tuple[str, int], float], stats: dict
                        ) -> dict[tuple[str, int], tuple[float, str]]:
    """ISW utilization of each province and year the existing capacity is calibrated to, Mt:
    the published figure of that year; else the published rate of the nearest year × this
    year's generation; else the estimated rate [prov-rates] × this year's generation."""
    out = {}
    for prov in PROVINCE_ISW:
        published = sorted(y for (r, y, i) in stats if r == prov and i == "isw_utilized")
        for year in YEARS:
            g = gen_prov[(prov, year)]
            if year in published:
                row = stats[(prov, year, "isw_utilized")]
                out[(prov, year)] = (row["value"], cite(row))
            elif published:
                y0 = min(published, key=lambda y: (abs(y - year), y))
                row = stats[(prov, y0, "isw_utilized")]
                rate = row["value"] / gen_prov[(prov, y0)]
                out[(prov, year)] = (rate * g, f"{cite(row)} rate {rate:.3f} of {y0} × generation {year}")
            else:
                out[(prov, year)] = (PROVINCE_RATE[prov] * g, f"[prov-rates] rate {PROVINCE_RATE[prov]} [U] "
                                                               f"× generation {year}")
    return out


def co_located_shares(material: str, room: float) -> dict[str, float]:
    """Routes that sit at the generator and their shares of a prefecture's room for ``material``
    (a gangue power plant only where the room can feed one)."""
    if material == "coal_gangue" and room < POWER_MIN_ROOM:
        return {"gangue-backfill": 1.0}
    return {r: share for r, share in SPLITS[material].items() if r not in HUB_ROUTES}


def isw_intake(process: str, capacity_mt: float, inputs: dict[str, dict[str, float]]) -> float:
    """Mt/yr of industrial waste a facility of ``process`` takes at ``capacity_mt`` of input."""
    return capacity_mt * sum(rate for m, rate in inputs[process].items() if m in ISW)


def bulk_routes(supplies: list[dict], sites: dict[str, dict], facilities: list[dict], stats: dict
                ) -> tuple[list[dict], list[dict]]:
    """Calibrated existing capacity of the bulk routes (section 6): facility rows and, per
    province, the figures of the calibration (for SOURCES.md). Each province's existing ISW
    intake is calibrated to its utilization target of 2020 (utilization_targets); in 2021 and
    2022 new rows of the same routes (year 2021 / 2022) add what the target grows."""
    inputs, processes = read_process_inputs(), read_processes()
    gen, existing = isw_by_prefecture(supplies, sites, facilities)
    gen_by_year = {y: isw_by_prefecture(supplies, sites, facilities, y) for y in YEARS}
    gen_prov: dict[tuple[str, int], float] = defaultdict(float)
    for y, (g, _) in gen_by_year.items():
        for (pref, _), mt in g.items():
            gen_prov[(PROVINCE_OF[pref], y)] += mt
    targets = utilization_targets(gen_prov, stats)
    rate_of = {p: targets[(p, 2020)][0] / gen_prov[(p, 2020)] for p in PROVINCE_ISW}
    region_rate = (sum(targets[(p, 2020)][0] for p in PROVINCE_ISW)
                   / sum(gen_prov[(p, 2020)] for p in PROVINCE_ISW))
    room = {}
    for (pref, material), mt in sorted(gen.items()):
        if material in TYPE_RATE:
            share = min(CELL_CAP, TYPE_RATE[material][0] * rate_of[PROVINCE_OF[pref]] / region_rate)
            room[(pref, material)] = max(0.0, share * mt - existing[(pref, material)])

    raw: list[tuple[str, str, float]] = []  # (route, prefecture, input capacity before scaling)
    for (pref, material), r in room.items():  # co-located routes: their waste bears no haul
        for route, share in co_located_shares(material, r).items():
            recipe = inputs[ROUTES[route][0]]
            cap = min([share * r / recipe[material]] + [  # the other inputs must be there too
                max(0.0, CELL_CAP * gen[(pref, m)] - existing[(pref, m)]) / rate
                for m, rate in recipe.items() if m != material])
            if cap >= MIN_CELL:
                raw.append((route, pref, cap))
    for prov in PROVINCE_ISW:  # product routes: the province's whole room, at its largest rooms
        for route in sorted(HUB_ROUTES):
            material = ROUTES[route][1]
            cells = sorted(((r, p) for (p, m), r in room.items()
                            if m == material and PROVINCE_OF[p] == prov and r > 0), reverse=True)
            total, top = sum(r for r, _ in cells), cells[:HUBS]
            for r, pref in top:
                cap = (SPLITS[material][route] * total * r / sum(x for x, _ in top)
                       / inputs[ROUTES[route][0]][material])
                if cap >= MIN_CELL:
                    raw.append((route, pref, cap))
    boards = []  # plasterboard: each province's board market, at its largest FGD generation
    for prov, residents in PROVINCE_POPULATION.items():
        pref = max((g, p) for (p, m), g in gen.items() if m == "fgd_gypsum" and PROVINCE_OF[p] == prov)[1]
        boards.append(("plasterboard", pref, residents * PLASTERBOARD_PER_CAPITA
                       / float(processes["fgd_gypsum_products"]["mass_yield"])))

    def limit(route: str, pref: str, year: int) -> float:
        """Most input capacity a route may hold: co-located routes at most CELL_CAP of every
        waste they take at their prefecture, product routes of the province's generation."""
        g = gen_by_year[year][0]
        process, material, _ = ROUTES[route]
        if route in HUB_ROUTES:
            prov_gen = sum(v for (p, m), v in g.items() if m == material and PROVINCE_OF[p] == PROVINCE_OF[pref])
            return CELL_CAP * prov_gen / inputs[process][material]
        return min(CELL_CAP * g[(pref, m)] / rate for m, rate in inputs[process].items())

    caps: dict[tuple[str, str], float] = {}
    scales: dict[str, float] = {}
    for prov in PROVINCE_ISW:  # 2020: scale the province's routes to its target, within limits
        mine = [(route, pref, c) for route, pref, c in raw if PROVINCE_OF[pref] == prov]
        own = sum(v for (p, _), v in existing.items() if PROVINCE_OF[p] == prov)
        board = sum(isw_intake("fgd_gypsum_products", c, inputs) for _, p, c in boards if PROVINCE_OF[p] == prov)
        need = max(0.0, targets[(prov, 2020)][0] - own - board)
        clipped: dict[tuple[str, str], float] = {}
        scale = 0.0
        for _ in range(len(mine) + 1):
            free = [(r, p, c) for r, p, c in mine if (r, p) not in clipped]
            intake = sum(isw_intake(ROUTES[r][0], c, inputs) for r, p, c in free)
            if not intake:
                break
            scale = max(0.0, need - sum(isw_intake(ROUTES[r][0], clipped[(r, p)], inputs) for r, p in clipped)) / intake
            over = [(r, p) for r, p, c in free if c * scale > limit(r, p, 2020)]
            if not over:
                break
            clipped |= {(r, p): limit(r, p, 2020) for r, p in over}
        scales[prov] = scale
        caps |= {(r, p): clipped.get((r, p), c * scale) for r, p, c in mine}
    caps |= {(r, p): c for r, p, c in boards}

    rows = []
    for (route, pref), cap in sorted(caps.items()):
        if cap <= 0:
            continue
        process, material, sector = ROUTES[route]
        if route not in HUB_ROUTES and route != "plasterboard":  # routes that cannot haul
            for m, rate in inputs[process].items():
                if cap * rate > gen[(pref, m)]:
                    raise ValueError(f"{route} at {pref} takes more {m} than the prefecture makes")
        prov = PROVINCE_OF[pref]
        how = (f"[plasterboard-market] {PLASTERBOARD_PER_CAPITA} t board per resident × "
               f"[census-2020] residents of {NAME[prov][1]}, at its largest FGD gypsum generation "
               "[U]" if route == "plasterboard" else
               f"[bulk-calibration] share of {NAME[prov][1]}'s {material} room "
               f"({TYPE_RATE[material][0]} [{TYPE_RATE[material][1]}] × province rate / region rate), "
               f"scaled to the province's 2020 utilization {targets[(prov, 2020)][0]:.2f} Mt "
               f"({targets[(prov, 2020)][1]}) [U]")
        rows.append({"id": f"F-{pref}-{route}", "site": generator_site(pref, sector),
                     "process": process, "year": BULK_YEAR, "capacity_t": r6(cap * MT),
                     "expandable": "false", "max_capacity_t": 0.0, "capex": "", "fixed_cost": 0.0,
                     "candidate": "false", "source": f"{how}; sited at the generator [U]"})

    growth_notes = []
    held = {(r, p): c for (r, p), c in caps.items() if r != "plasterboard" and c > 0}
    for year in YEARS[1:]:  # capacity over time: new rows carry the growth of each target
        _, existing_y = gen_by_year[year]
        for prov in PROVINCE_ISW:
            mine = {k: c for k, c in held.items() if PROVINCE_OF[k[1]] == prov}
            own = sum(v for (p, _), v in existing_y.items() if PROVINCE_OF[p] == prov)
            board = sum(isw_intake("fgd_gypsum_products", c, inputs) for _, p, c in boards if PROVINCE_OF[p] == prov)
            have = own + board + sum(isw_intake(ROUTES[r][0], c, inputs) for (r, _), c in mine.items())
            target, tcite = targets[(prov, year)]
            intake = sum(isw_intake(ROUTES[r][0], c, inputs) for (r, _), c in mine.items())
            factor = max(0.0, target - have) / intake if intake else 0.0
            added = 0.0
            for route in ROUTES:  # one row per route: at the cell with the most headroom
                cells = {p: c for (r, p), c in mine.items() if r == route}
                want = sum(cells.values()) * factor
                for pref in sorted(cells, key=lambda p: (cells[p] - limit(route, p, year), p)):
                    inc = min(want, max(0.0, limit(route, pref, year) - held[(route, pref)]))
                    if inc * MT < 1:
                        continue
                    want -= inc
                    held[(route, pref)] += inc
                    added += isw_intake(ROUTES[route][0], inc, inputs)
                    process, material, sector = ROUTES[route]
                    rows.append({"id": f"F-{pref}-{route}-{year}", "site": generator_site(pref, sector),
                                 "process": process, "year": year, "capacity_t": r6(inc * MT),
                                 "expandable": "false", "max_capacity_t": 0.0, "capex": "",
                                 "fixed_cost": 0.0, "candidate": "false",
                                 "source": f"[sp-cap-growth] growth of {NAME[prov][1]}'s utilization to "
                                           f"{target:.2f} Mt in {year} ({tcite}): ×{factor:.4f} of the "
                                           f"province's {route} capacity [U]; sited at the generator [U]"})
            growth_notes.append({"province": prov, "year": year, "target": target, "cite": tcite,
                                 "before": have, "added": added})

    notes = []
    for prov in PROVINCE_ISW:
        mine = [r for r in rows if PROVINCE_OF[r["id"].split("-")[1]] == prov and r["year"] == BULK_YEAR]
        notes.append({
            "province": prov, "generation": gen_prov[(prov, 2020)], "rate": rate_of[prov],
            "existing": sum(v for (p, _), v in existing.items() if PROVINCE_OF[p] == prov),
            "routes": {route: sum(r["capacity_t"] for r in mine if r["id"].endswith(route)) / MT
                       for route in ROUTES},
            "target": targets[(prov, 2020)], "scale": scales[prov],
        })
    raw_total = sum(c for *_, c in raw)
    notes.append({"scale": sum(c for (r, _), c in caps.items() if r != "plasterboard") / raw_total,
                  "region_rate": region_rate, "existing": sum(existing.values()),
                  "growth": growth_notes, "targets": targets, "gen": dict(gen_prov)})
    return rows, notes


# ---------------------------------------------------------------------------------------------
# Named generator plants (plantsgen, #15 item 2): real steel mills, power plants, alumina
# refineries and coal mines from scripts/dataset/plants-generators.csv take their share of the
# prefecture-sector aggregate generator; the aggregate keeps the rest (其他), never negative.
# A plant's 2020 generation = its published activity × a factor [pg-gen-factors, U]; its share of
# the aggregate = that / the aggregate's 2020 generation (scaled down when the named plants of an
# aggregate would exceed it). The share applies to every year the plant operates.
# ---------------------------------------------------------------------------------------------
PLANTS_GENERATORS = ROOT / "scripts" / "dataset" / "plants-generators.csv"
PLANT_FACTOR_KEY = "pg-gen-factors"
PLANT_FACTORS = {  # kind: {material: Mt generated per unit of activity per year} [pg-gen-factors, U]
    "steel_mill": {"steel_slag": 0.125, "bf_slag": 0.27},  # per Mt crude steel
    "power_plant": {"fly_ash": 390e-6, "furnace_slag": 70e-6, "fgd_gypsum": 95e-6},  # per MW
    "alumina": {"red_mud": 1.2},  # per Mt alumina
    "coal_mine": {"coal_gangue": 0.10},  # per Mt raw coal
}
PLANT_RADIUS = 0.05  # deg: a plant without published coordinates sits this far from the seat


def read_generator_plants(path: Path = PLANTS_GENERATORS) -> list[dict]:
    """The named generator plants, checked (:func:`read_plants` and the generators' own rules)."""
    seen: set[str] = set()

    def bad(n: int, col: str, value: str, expected: str) -> ValueError:
        return input_error(path, n, col, value, expected)

    plants = []
    for n, r in read_plants(path):
        if not re.fullmatch(r"G-\d{6}-[a-z0-9-]+", r["id"]) or r["id"] in seen:
            raise bad(n, "id", r["id"], "a new id G-<region>-<short-pinyin>")
        seen.add(r["id"])
        if r["id"].split("-")[1] != r["region"]:
            raise bad(n, "region", r["region"], "a region code of build_dataset.py, as in the id")
        if r["region"] in {c for c, *_ in PROVINCES} and r["region"] not in ("110000", "120000"):
            raise bad(n, "region", r["region"], "a prefecture code (provinces other than Beijing and Tianjin are split)")
        if r["kind"] not in PLANT_FACTORS:
            raise bad(n, "kind", r["kind"], " | ".join(PLANT_FACTORS))
        materials = r["materials"].split(";")
        if not materials or any(m not in PLANT_FACTORS[r["kind"]] for m in materials):
            raise bad(n, "materials", r["materials"], f"codes among {sorted(PLANT_FACTORS[r['kind']])}")
        try:
            activity = float(r["activity"])
        except ValueError:
            activity = -1.0
        if activity <= 0:
            raise bad(n, "activity", r["activity"], "a published size > 0")
        if bool(r["lat"]) != bool(r["lon"]):
            raise bad(n, "lat/lon", f"{r['lat']},{r['lon']}", "both or neither")
        if r["year_from"] and not r["year_from"].isdigit():
            raise bad(n, "year_from", r["year_from"], "a year or blank")
        keys = cited(path, n, r, several=True)
        if r["status"] != "operating":
            continue  # only operating plants generate
        plants.append(r | {"activity": activity, "materials": materials, "keys": keys,
                           "year_from": int(r["year_from"]) if r["year_from"] else 0})
    return plants


def plant_aggregate(plant: dict, sector: str, sites: dict[str, dict]) -> str:
    """The aggregate generator a named plant takes its share from: the prefecture's sector site, or
    the nearest of its named sub-sites when the sector is split (SUBSITES)."""
    pref = plant["region"]
    subs = SUBSITES.get((pref, sector))
    if subs and plant["lat"]:
        lat, lon = float(plant["lat"]), float(plant["lon"])
        sub = min(subs, key=lambda s: (s[4] - lat) ** 2 + (s[5] - lon) ** 2)[0]
        sid = f"G-{pref}-{sector}-{sub}"
    else:
        sid = generator_site(pref, sector)
    if sid not in sites:
        raise ValueError(f"{PLANTS_GENERATORS.name}: plant {plant['id']} has no aggregate generator "
                         f"{sid} to take its share from (no {sector} generation in {pref}) / "
                         f"该地市无此行业汇总产生源")
    return sid


def plant_place(plant: dict, index: int) -> tuple[float, float, str]:
    """Coordinates and their basis: the published ones, else near the prefecture seat."""
    if plant["lat"]:
        lat, lon = float(plant["lat"]), float(plant["lon"])
        basis = plant["coord_basis"] or "page [" + plant["keys"][0] + "]"
        seat = SEAT[plant["region"]]
        for step in range(11):  # the map's province outline is simplified: pull a border plant in
            f = step / 10
            p = round(lat + (seat[0] - lat) * f, 6), round(lon + (seat[1] - lon) * f, 6)
            if datasets.in_province(PROVINCE_OF[plant["region"]], *p):
                moved = f" (moved {f:.0%} toward the seat to lie inside the simplified outline)" if step else ""
                return p[0], p[1], basis + moved
    angle = 2.399963 * index  # golden angle: plants of one prefecture do not overlap
    lat, lon = offset(plant["region"], (PLANT_RADIUS * math.cos(angle), PLANT_RADIUS * math.sin(angle)))
    return lat, lon, "prefecture seat ±0.05° [gazetteer] (county seat not in the gazetteer) [U]"


def split_generators(supplies: list[dict], sites: dict[str, dict], facilities: list[dict]) -> list[dict]:
    """Named plants take their share of the aggregate generators' supply rows (in place); returns
    one note per (aggregate, material) for SOURCES.md, with the scale when plants were cut down.
    The aggregate keeps at least the intake of the existing routes without a product sited at it
    (backfill, gangue power: they cannot bear a haul), so named plants are scaled down to the room
    above that."""
    plants = read_generator_plants(PLANTS_GENERATORS)
    inputs = read_process_inputs()
    no_product = {pid for pid, r in read_processes().items() if float(r["mass_yield"]) == 0 and not r["task"]}
    reserved: dict[tuple[str, str], float] = defaultdict(float)  # Mt/yr taken at the aggregate
    for f in facilities:
        if f["candidate"] == "false" and f["process"] in no_product:
            for material, rate in inputs[f["process"]].items():
                reserved[(f["site"], material)] += f["capacity_t"] / MT * rate
    rows = {(s["site"], s["material"], s["year"]): s for s in supplies}
    claims: dict[tuple[str, str], list[tuple[dict, float]]] = defaultdict(list)
    for plant in plants:
        for material in plant["materials"]:
            agg = plant_aggregate(plant, SECTOR[material], sites)
            if (agg, material, 2020) not in rows:
                raise ValueError(f"{PLANTS_GENERATORS.name}: plant {plant['id']}: {agg} generates no "
                                 f"{material} / 汇总产生源无此固废")
            claims[(agg, material)].append((plant, plant["activity"] * PLANT_FACTORS[plant["kind"]][material]))
    notes = []
    for (agg, material), claim in sorted(claims.items()):
        total = rows[(agg, material, 2020)]["generation_t"] / MT
        wanted = sum(mt for _, mt in claim)
        room = max(0.0, total - reserved[(agg, material)])
        scale = min(1.0, room / wanted) if wanted else 1.0
        notes.append({"aggregate": agg, "material": material, "total": total, "wanted": wanted,
                      "reserved": reserved[(agg, material)], "scale": scale, "plants": len(claim)})
        cut = "" if scale == 1.0 else (f", scaled ×{scale:.3f} as the named plants exceed the aggregate "
                                       "less the intake of the existing routes without a product sited at it")
        for year in YEARS:
            base = rows[(agg, material, year)]
            aggregate_t, taken = base["generation_t"], 0.0
            for plant, mt in claim:
                if plant["year_from"] > year:
                    continue
                part = min(r6(aggregate_t * mt * scale / total) if total else 0.0, aggregate_t - taken)
                if part <= 0:
                    continue  # no room left at the aggregate: no row, rather than a plant generating 0 t
                taken += part
                supplies.append(base | {
                    "site": plant["id"], "generation_t": part, "stock_t": 0.0, "stock_draw_max_t": 0.0,
                    "source": f"{base['source']}; named plant {plant['activity']:g} {plant['activity_unit']} "
                              + "".join(f"[{k}]" for k in plant["keys"])
                              + f" [{plant['confidence']}] × [{PLANT_FACTOR_KEY}] [U] / aggregate 2020 "
                              f"generation{cut}"})
            base["generation_t"] = aggregate_t - taken
            if taken:
                base["source"] += f"; less the named plants' share ({taken / aggregate_t:.1%}), see plants-generators.csv"
    for index, plant in enumerate(plants):
        lat, lon, basis = plant_place(plant, index)
        county = plant["county"] if plant["county"] and plant["county"] not in plant["operator"] else ""
        sites[plant["id"]] = {
            "id": plant["id"], "name_zh": plant["operator"] + (f"（{county}）" if county else ""),
            "name_en": f"{plant['operator_en']}, {NAME[plant['region']][1]}", "org_uscc": plant["uscc"],
            "operator": plant["operator"], "region": plant["region"], "lat": lat, "lon": lon,
            "roles": "generator;disposal", "designation": "",
            "source": "".join(f"[{k}]" for k in plant["keys"]) + f" [{plant['confidence']}] {plant['kind']} "
                      f"{plant['activity']:g} {plant['activity_unit']}: operator, place and size; "
                      f"coordinates: {basis}"}
    return notes


def plants_markdown(notes: list[dict]) -> str:
    """SOURCES.md lines on the named generator plants and where they were scaled down."""
    cut = [n for n in notes if n["scale"] < 1.0]
    lines = ["", f"Named generator plants: {len({n['aggregate'] for n in notes})} aggregate generators "
             f"give {sum(n['plants'] for n in notes)} plant-material shares to named plants "
             "(plants-generators.csv; share = activity × [pg-gen-factors] / the aggregate's 2020 "
             "generation). Where the named plants would exceed the aggregate less the intake of the "
             "existing routes without a product sited at it (backfill, gangue power), they are scaled down:", ""]
    lines += ["| aggregate | material | aggregate 2020 Mt | kept for facilities at it Mt | "
              "named plants by factor Mt | scale |", "|---|---|---|---|---|---|"]
    lines += [f"| {n['aggregate']} | {n['material']} | {n['total']:.2f} | {n['reserved']:.2f} | "
              f"{n['wanted']:.2f} | {n['scale']:.3f} |" for n in cut] or ["| — | — | — | — | — | none |"]
    return "\n".join(lines) + "\n"


def prefecture_totals(prov: str, allocs: dict[str, dict], pref_stats: dict, calibration: list[dict]
                      ) -> dict[tuple[str, str, int], str]:
    """A prefecture's published ISW generation of a model year (statistics-prefecture.csv,
    ``isw_generated``) is met by scaling its weight-split materials (not its fixed figures); the
    other prefectures of the province give or take the difference pro rata, so the provincial
    totals stay. ``allocs`` = {material: {year: (by_pref, scale, fixed, cite)}}, changed in place;
    returns {(material, prefecture, year): how it was scaled}."""
    scaled: dict[tuple[str, str, int], str] = {}
    prov_total = {y: sum(sum(a[y][0].values()) for a in allocs.values()) for y in YEARS}
    published: dict[str, list[int]] = defaultdict(list)  # model years only: other years' scope differs
    for (pref, year, item) in pref_stats:
        if item == "isw_generated" and parent_of(pref) == prov and year in YEARS:
            published[pref].append(year)
    for pref, year in [(p, y) for p in sorted(published) for y in YEARS]:
        y0 = min(published[pref], key=lambda y: (abs(y - year), y))
        row = dict(pref_stats[(pref, y0, "isw_generated")])
        if y0 != year:  # the prefecture keeps its share of the province from the published year
            row["value"] *= prov_total[year] / prov_total[y0]
            row["confidence"] = "U"
        fixed = sum(a[year][0].get(pref, 0.0) for a in allocs.values() if pref in a[year][2] and a[year][1] == 1.0)
        free = {m: a[year][0].get(pref, 0.0) for m, a in allocs.items()
                if not (pref in a[year][2] and a[year][1] == 1.0)}
        room = {m: sum(v for p, v in a[year][0].items() if p != pref and p not in a[year][2])
                for m, a in allocs.items() if m in free}
        want = row["value"] - fixed
        if want < 0 or not sum(free.values()):
            raise ValueError(f"statistics-prefecture.csv: {pref} {year} isw_generated {row['value']} Mt "
                             f"is below its fixed material figures ({fixed:.2f} Mt) or it makes no "
                             f"weight-split material / 低于其已定物料数或无可调物料")
        k = want / sum(free.values())
        for m, v in free.items():  # others give or take v × (k − 1) pro rata, never below zero
            delta = v * (k - 1)
            if room[m] < delta:
                raise ValueError(f"statistics-prefecture.csv: {pref} {year} isw_generated {row['value']} Mt "
                                 f"needs more {m} than the other prefectures of {prov} make / 超出全省其余地市产生量")
            by_pref = allocs[m][year][0]
            for p in by_pref:
                if p != pref and p not in allocs[m][year][2] and room[m]:
                    by_pref[p] -= delta * by_pref[p] / room[m]
            by_pref[pref] = v * k
            scaled[(m, pref, year)] = f"scaled ×{k:.3f} to {cite(row)} prefecture total"
        if y0 == year:
            calibration.append({"scope": pref, "material": "", "year": year, "quantity": r6(row["value"] * MT),
                                "source": row["source"], "confidence": row["confidence"]})
    return scaled


def statistics_markdown(tables: dict[str, list[dict]]) -> str:
    """SOURCES.md section of the statistics: provincial ISW by year (published or how derived),
    the activity-derived materials and the residual split by est-split, and the utilization
    capacity per province and year against its target (2021/2022 rows added)."""
    *_, total = tables["_bulk"]
    lines = ["", "Statistics (scripts/dataset/statistics.csv, factors.csv): provincial ISW generation "
             "by year, the materials derived from activity × factor, and the residual that "
             "[est-split] spreads over the other materials (Mt).", "",
             "| province | year | ISW generation | activity-derived | residual (est-split) |",
             "|---|---|---|---|---|"]
    for n in total["isw"]:
        derived = ", ".join(f"{m} {v:.2f}" for m, v in n["derived"].items()) or "—"
        if n["scale"] < 1:
            derived += f" (scaled ×{n['scale']:.3f})"
        lines.append(f"| {NAME[n['province']][1]} | {n['year']} | {n['total']:.2f} | {derived} | "
                     f"{n['residual']:.2f} |")
    lines += ["", "Utilization capacity (existing ISW intake, Mt/yr) against each province's target; "
              "2021 and 2022 add new route rows [sp-cap-growth].", "",
              "| province | year | generation | target | basis of the target | capacity before | added |",
              "|---|---|---|---|---|---|---|"]
    for n in tables["_bulk"][:-1]:
        lines.append(f"| {NAME[n['province']][1]} | 2020 | {total['gen'][(n['province'], 2020)]:.2f} | "
                     f"{n['target'][0]:.2f} | {n['target'][1]} | | scale ×{n['scale']:.3f} |")
    for g in total["growth"]:
        lines.append(f"| {NAME[g['province']][1]} | {g['year']} | {total['gen'][(g['province'], g['year'])]:.2f} | "
                     f"{g['target']:.2f} | {g['cite']} | {g['before']:.2f} | {g['added']:.2f} |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# 7. Named utilizers (#15 item 2, helper plantsuse): real firms with named plants, read from
#    scripts/dataset/plants-utilizers.csv (sources in sources-plantsuse.csv). Each plant becomes a
#    site with its operator and an existing facility of its catalog process. The calibrated
#    existing capacity of the same process in the same prefecture (FACILITIES and bulk routes)
#    shrinks by what the named plants hold, so the calibrated totals stay as they are; where the
#    named plants hold more than was calibrated, the published (or sourced) figure is kept and the
#    override is listed in SOURCES.md. A row whose id is a site the script already has (the
#    Jidong kilns, the Beijing green aggregate bases) only attaches its operator to that site.
# ---------------------------------------------------------------------------------------------
PLANTS_UTILIZERS = ROOT / "scripts" / "dataset" / "plants-utilizers.csv"
PLANT_STATUS = ("operating", "candidate", "closed")
NAMED_YEAR = 2015  # first year when a row gives none (as the calibrated capacity) [U]
NAMED_RING = ((0.06, 0.06), (-0.06, 0.06), (0.06, -0.06), (-0.06, -0.06),
              (0.0, 0.09), (0.09, 0.0), (0.0, -0.09), (-0.09, 0.0))  # deg, around the seat
NAMED_COORD = "prefecture seat moved ≤0.09° (county not geocoded) [gazetteer] [U]"


def read_named_utilizers(path: Path = PLANTS_UTILIZERS) -> list[dict[str, str]]:
    """The named utilizer plants, checked (:func:`read_plants` and the utilizers' own rules)."""
    processes = read_processes()
    rows = read_plants(path)
    for n, r in rows:
        for col, ok, expected in (
                ("id", r["id"].startswith("S-"), "a site id starting with 'S-'"),
                ("process", r["process"] in processes, "a process code of the catalog"),
                ("status", r["status"] in PLANT_STATUS, " | ".join(PLANT_STATUS)),
                ("capacity_basis", r["capacity_basis"] in ("published", "estimated"), "published | estimated"),
                ("source", bool(re.search(r"\[[a-z][a-z0-9.-]+\]", r["source"])),
                 "at least one [key] of a sources table")):
            if not ok:
                raise input_error(path, n, col, r[col], expected)
    return [r for _, r in rows]


def named_facility_id(site: str, process: str) -> str:
    return f"F-{site[2:]}-{process.replace('_', '-')}"


def named_utilizers(rows: list[dict[str, str]], sites: dict[str, dict], facilities: list[dict],
                    add_site, add_role) -> dict[str, list[dict]]:
    """Turn named plants into sites and existing facilities (``facilities`` is changed in place)
    and shrink the calibrated capacity of the same process, in the same prefecture first and then
    in the rest of the province. Returns the cells that drew on the rest of the province ("moved")
    and the province cells where the named plants hold more than the calibrated capacity
    ("overrides": the sourced figure is kept)."""
    processes = read_processes()
    inputs = read_process_inputs()
    no_haul = {pid for pid, p in processes.items() if float(p["mass_yield"] or 0) == 0 and not p["task"]}
    places = {p[0] for p in PLACES}
    attached: set[str] = set()
    named: list[dict] = []
    ring: dict[str, int] = defaultdict(int)
    for r in rows:
        sid, op = r["id"], r["operator"].strip()
        if sid in places:  # an existing site of the script: attach the operator only
            if sid not in sites:
                raise ValueError(f"plants-utilizers: {sid} is a place without a facility in the dataset")
            sites[sid]["operator"] = op
            if r["uscc"]:
                sites[sid]["org_uscc"] = r["uscc"]
            if r["source"] not in sites[sid]["source"]:
                sites[sid]["source"] += f"; operator {r['source']}"
            attached.add(sid)
            continue
        if r["status"] != "operating" or not r["capacity_t"]:
            continue  # candidates and closed plants: listed in the input, not modelled yet
        host_site, where = sid, ""
        if r["process"] in no_haul:  # gangue power, backfill: on the generator site of its waste
            material = next(iter(inputs[r["process"]]))
            host_site = generator_site(r["region"], SECTOR[material])
            if host_site not in sites:
                raise ValueError(f"plants-utilizers: {sid} ({r['process']}) needs the generator site "
                                 f"{host_site} of its waste, which the dataset does not have")
            where = (f"; operator {op} as published; on the generator site of its waste "
                     "(a route without product cannot bear a haul)")
        elif sid not in sites:
            if r["lat"] and r["lon"]:
                lat, lon, basis = float(r["lat"]), float(r["lon"]), r["coord_basis"] or "page"
            else:
                lat, lon = offset(r["region"], NAMED_RING[ring[r["region"]] % len(NAMED_RING)])
                ring[r["region"]] += 1
                basis = NAMED_COORD
            proc = processes[r["process"]]
            place = f"{r['county']}" if r["county"] else ""
            add_site(sid, f"{op}（{place}{proc['name_zh']}）", f"{r['operator_en'] or op} ({proc['name_en']})",
                     r["region"], lat, lon, "facility",
                     source=f"{r['source']} operator as published; coordinates: {basis}")
            sites[sid]["operator"] = op
            sites[sid]["org_uscc"] = r["uscc"]
        add_role(host_site, "facility")
        fid = named_facility_id(sid, r["process"])
        if any(f["id"] == fid for f in facilities):
            raise ValueError(f"plants-utilizers: {sid} lists {r['process']} twice")
        host_mt, host_src = host_output(fid, host_site, r["process"])
        named.append({
            "id": fid, "site": host_site, "process": r["process"],
            "year": int(float(r["year_from"])) if r["year_from"] else NAMED_YEAR,
            "capacity_t": r6(float(r["capacity_t"])), "expandable": "false", "max_capacity_t": 0.0,
            "capex": "", "fixed_cost": 0.0, "candidate": "false",
            "source": f"{r['source']} capacity {r['capacity_basis']}"
                      + (f" [U]: {r['note']}" if r["capacity_basis"] == "estimated" else
                         f": {r['note']}" if r["note"] else "")
                      + ("" if r["year_from"] else f"; first year {NAMED_YEAR} [U]") + where + host_src,
            "host_output_t": r6(host_mt * MT),
        })
    # shrink the calibrated capacity by what named plants hold: first the same prefecture ×
    # process; what the prefecture's calibrated capacity cannot cover comes out of the same
    # process elsewhere in the province (the calibration is provincial); only what the province
    # cannot cover either is an override (the sourced figure is kept, the total grows)
    region = {sid: s["region"] for sid, s in sites.items()}
    # a plant working from year Y replaces calibrated capacity of year ≤ max(Y, first model year),
    # the latest first, so the capacity of the model years before Y does not move
    need: dict[tuple[str, str, int], float] = defaultdict(float)
    cited: dict[tuple[str, str], list[str]] = defaultdict(list)
    for f in named:
        need[(region[f["site"]], f["process"], max(f["year"], YEARS[0]))] += f["capacity_t"]
        cited[(PROVINCE_OF[region[f["site"]]], f["process"])].append(f["id"])
    drop: set[str] = set()

    def shrink(pool: list[dict], take: float, where: str) -> float:
        taken = 0.0
        for year in sorted({f["year"] for f in pool}, reverse=True):
            group = [f for f in pool if f["year"] == year]
            total = sum(f["capacity_t"] for f in group)
            part = min(take - taken, total)
            for f in group:
                left = r6(f["capacity_t"] * (1 - part / total))
                f["source"] += f"; less {f['capacity_t'] - left:.0f} t/yr held by named plants of {where} [plants-utilizers]"
                f["capacity_t"] = left
                if left == 0 and f["expandable"] == "false":
                    drop.add(f["id"])
            taken += part
        return taken

    def calibrated(process: str, keep, upto: int = YEARS[-1]) -> list[dict]:
        return [f for f in facilities if f["candidate"] == "false" and f["process"] == process
                and f["site"] not in attached and f["capacity_t"] > 0 and f["year"] <= upto
                and keep(region[f["site"]])]

    before = {(prov, process): sum(f["capacity_t"] for f in calibrated(process, lambda r, p=prov: PROVINCE_OF[r] == p))
              for prov, process in cited}
    rest: dict[tuple[str, str, int], float] = defaultdict(float)
    moved = []
    for (pref, process, upto), held in sorted(need.items()):
        left = held - shrink(calibrated(process, lambda r, p=pref: r == p, upto), held, NAME[pref][1])
        if left > 0.5:
            rest[(PROVINCE_OF[pref], process, upto)] += left
            moved.append({"region": pref, "process": process, "moved_t": left})
    excess: dict[tuple[str, str], float] = defaultdict(float)
    for (prov, process, upto), left in sorted(rest.items()):
        left -= shrink(calibrated(process, lambda r, p=prov: PROVINCE_OF[r] == p, upto), left, NAME[prov][1])
        if left > 0.5:
            excess[(prov, process)] += left
    overrides = [{"region": prov, "process": process, "calibrated_t": before[(prov, process)],
                  "named_t": before[(prov, process)] + left, "facilities": cited[(prov, process)]}
                 for (prov, process), left in sorted(excess.items())]
    for m in moved:
        m["facilities"] = [f["id"] for f in named if region[f["site"]] == m["region"] and f["process"] == m["process"]]
    facilities[:] = [f for f in facilities if f["id"] not in drop] + named
    hosting = {f["site"] for f in facilities}
    for sid, s in list(sites.items()):
        if sid not in hosting and "facility" in s["roles"].split(";"):
            roles = [x for x in s["roles"].split(";") if x != "facility"]
            if roles:
                s["roles"] = ";".join(roles)
            else:
                del sites[sid]
    return {"overrides": overrides, "moved": moved, "sites": sorted({f["site"] for f in named})}


def named_markdown(tables: dict[str, list]) -> list[str]:
    """SOURCES.md lines of the named utilizers: counts and overrides (their keys are in the sources table)."""
    ids = set(tables["_named"]["sites"])
    named = [s for s in tables["sites"] if s["id"] in ids and s.get("operator")]
    lines = ["", f"Named utilizers (`plants-utilizers`): {len({s['operator'] for s in named})} "
             f"organisations on {len(named)} sites, read from scripts/dataset/plants-utilizers.csv. "
             "Each named plant's capacity comes out of the calibrated capacity of the same process, in its "
             "prefecture first and then in the rest of its province; where the province's calibrated "
             "capacity is smaller than what its named plants hold, the sourced figure is kept and the "
             "province total grows (first table). The second table lists the prefectures whose named plants "
             "drew on the rest of their province.", "",
             "| province | process | calibrated t/yr | with named plants t/yr | named facilities |", "|---|---|---|---|---|"]
    lines += [f"| {NAME[o['region']][1]} | {o['process']} | {o['calibrated_t']:.0f} | {o['named_t']:.0f} | "
              f"{', '.join(o['facilities'])} |" for o in tables["_named"]["overrides"]]
    lines += ["", "| prefecture | process | taken from the rest of the province t/yr | named facilities |",
              "|---|---|---|---|"]
    lines += [f"| {NAME[m['region']][1]} | {m['process']} | {m['moved_t']:.0f} | {', '.join(m['facilities'])} |"
              for m in tables["_named"]["moved"]]
    return lines


def build() -> dict[str, list[dict]]:
    sites: dict[str, dict] = {}
    supplies: list[dict] = []
    calibration: list[dict] = []
    notes: list[dict] = []  # anchor scale factors for SOURCES.md

    def add_role(sid, role):
        roles = sites[sid]["roles"].split(";")
        sites[sid]["roles"] = ";".join(roles + [r for r in role.split(";") if r not in roles])

    def add_site(sid, zh, en, region, lat, lon, role, designation="", source=""):
        if sid in sites:
            add_role(sid, role)
            return
        sites[sid] = {"id": sid, "name_zh": zh, "name_en": en, "org_uscc": "", "region": region,
                      "lat": lat, "lon": lon, "roles": role, "designation": designation,
                      "source": source}

    # ---- industrial solid waste -------------------------------------------------------------
    stats = read_statistics(STATISTICS)
    pref_stats = read_statistics(STATISTICS_PREFECTURE)
    factors = read_factors()
    isw_notes: list[dict] = []  # residual of the activity split, per province and year
    for prov in PROVINCE_ISW:
        if abs(sum(SPLIT[prov].values()) - 100) > 1e-9:
            raise ValueError(f"split of {prov} sums to {sum(SPLIT[prov].values())}")
        by_year: dict[int, dict[str, tuple[float, str]]] = {}
        totals: dict[int, tuple[float, str]] = {}
        for year in YEARS:
            total, total_cite, keys, conf = province_isw(prov, year, stats)
            totals[year] = (total, total_cite)
            calibration.append({"scope": prov, "material": "", "year": year, "quantity": r6(total * MT),
                                "source": "; ".join(keys), "confidence": conf})
        for year in YEARS:
            by_year[year], note = material_totals(prov, year, totals, stats, factors)
            isw_notes.append(note)
        materials = list(SPLIT[prov]) + sorted({m for y in YEARS for m in by_year[y]} - set(SPLIT[prov]))
        allocs: dict[str, dict[int, tuple]] = {}
        for material in materials:
            alloc = allocs[material] = {}
            for year in YEARS:
                fixed = fixed_cells(prov, material, year, pref_stats)
                mat_total, mat_cite = by_year[year].get(material, (0.0, ""))
                by_pref, scale = allocate(prov, material, mat_total, {p: v for p, (v, _, _) in fixed.items()})
                alloc[year] = (by_pref, scale, fixed, mat_cite)
                if scale != 1.0 and year == 2020:
                    notes.append({"province": prov, "material": material, "scale": scale})
                for pref, (value, fcite, fconf) in sorted(fixed.items()):  # kept exactly: checked
                    if scale == 1.0 and (year == 2020 or "prefecture statistic" in fcite):
                        calibration.append({"scope": pref, "material": material, "year": year,
                                            "quantity": r6(value * MT),
                                            "source": "; ".join(re.findall(r"\[([a-z][a-z0-9.-]+)\]", fcite)),
                                            "confidence": fconf})
        scaled = prefecture_totals(prov, allocs, pref_stats, calibration)
        for material in materials:
            sector, alloc = SECTOR[material], allocs[material]
            single = len(WEIGHTS[prov].get(sector, {})) == 1
            for pref in sorted({p for y in YEARS for p in alloc[y][0]}):
                subs = SUBSITES.get((pref, sector)) or [("", 1.0, "", "", *offset(pref, SECTOR_NAME[sector][2]))]
                for sub, sshare, szh, sen, lat, lon in subs:
                    sid = f"G-{pref}-{sector}" + (f"-{sub}" if sub else "")
                    pzh, pen = NAME[pref]
                    zh = szh or f"{pzh}{SECTOR_NAME[sector][0]}"
                    en = sen or f"{pen} {SECTOR_NAME[sector][1]}"
                    add_site(sid, zh, en, pref, lat, lon, "generator;disposal",
                             source="[est-weights] aggregated generator; [gazetteer] coordinates")
                    stock_mt, stock_src = 0.0, ""
                    if (pref, material) in STOCKS:
                        v, s_, c = STOCKS[(pref, material)]
                        stock_mt, stock_src = v * sshare, f"; stock [{s_}] [{c}]"
                    for year in YEARS:
                        by_pref, scale, fixed, mat_cite = alloc[year]
                        if pref in fixed and scale == 1.0:
                            how = fixed[pref][1]
                        elif (material, pref, year) in scaled:
                            how = f"{mat_cite}; to prefectures by [est-weights], {scaled[(material, pref, year)]} [U]"
                        elif single and not fixed:
                            how = f"{mat_cite}; the province is one unit for this sector"
                        else:
                            how = f"{mat_cite}; to prefectures by [est-weights] [U]"
                        if sub:
                            how += f"; sub-site share {sshare:g} [U]"
                        supplies.append({
                            "site": sid, "material": material, "year": year,
                            "generation_t": r6(by_pref.get(pref, 0.0) * sshare * MT),
                            "stock_t": r6(stock_mt * MT), "stock_draw_max_t": r6(stock_mt * MT * STOCK_DRAW_SHARE),
                            "disposal_cost": DISPOSAL_COST[material], "must_use": "false",
                            "source": how + stock_src,
                        })
    # Shanxi gangue stock: >1 Gt, split by 2020 gangue generation
    gangue = [s for s in supplies if s["material"] == "coal_gangue" and s["site"][2:4] == "14"]
    g2020 = {s["site"]: s["generation_t"] for s in gangue if s["year"] == 2020}
    for s in gangue:
        stock = SHANXI_GANGUE_STOCK[0] * MT * g2020[s["site"]] / sum(g2020.values())
        s["stock_t"], s["stock_draw_max_t"] = r6(stock), r6(stock * STOCK_DRAW_SHARE)
        s["source"] += f"; stock [{SHANXI_GANGUE_STOCK[1]}] split by gangue generation [U]"

    # ---- recycled resources and urban wastes ------------------------------------------------
    for prov, pshare in RECYCLED_PROVINCE.items():
        for city, cshare in CITY_SHARE[prov].items():
            sid = f"G-{city}-urban"
            lat, lon = SEAT[city]
            pzh, pen = NAME[city]
            add_site(sid, f"{pzh}城市再生资源与城市废弃物", f"{pen} urban recyclables and city wastes",
                     city, lat, lon, "generator;disposal",
                     source="[recycled-region] [jjj-2014] [est-weights] [urban-percap] [census-2020]")
            for material, mshare in RECYCLED_SHARE.items():
                for year in YEARS:
                    supplies.append({
                        "site": sid, "material": material, "year": year,
                        "generation_t": r6(RECYCLED_REGION[year] * MT * mshare / 100 * pshare / 100 * cshare),
                        "stock_t": 0.0, "stock_draw_max_t": 0.0, "disposal_cost": DISPOSAL_COST[material],
                        "must_use": "false",
                        "source": "[recycled-region] regional total [U] × [recycled-mix] [U] × province share "
                                  "[jjj-2014] (Hebei, Beijing, Tianjin) / [est-weights] (others) × city share [U]",
                    })
            for material, per_cap in URBAN_PER_CAPITA.items():
                for year in YEARS:
                    supplies.append({
                        "site": sid, "material": material, "year": year,
                        "generation_t": r6(POPULATION[city] * MT * per_cap * URBAN_GROWTH[year]),
                        "stock_t": 0.0, "stock_draw_max_t": 0.0, "disposal_cost": DISPOSAL_COST[material],
                        "must_use": "false",
                        "source": "[urban-percap] per-capita factor [U] × [census-2020] residents [U]",
                    })
    supplies += battery_supplies()
    for year in YEARS:
        calibration.append({"scope": "region", "material": "recycled_resource", "year": year,
                            "quantity": r6(RECYCLED_REGION[year] * MT), "source": "recycled-region",
                            "confidence": "U"})
    add_site("G-xiongan-urban", "雄安新区建筑垃圾", "Xiong'an construction waste", "130600", 39.010,
             115.930, "generator;disposal", source="[xiongan-cd] [U]")
    for year in YEARS:
        supplies.append({"site": "G-xiongan-urban", "material": "cd_waste", "year": year,
                         "generation_t": r6(XIONGAN_CD * MT * URBAN_GROWTH[year]), "stock_t": 0.0,
                         "stock_draw_max_t": 0.0, "disposal_cost": DISPOSAL_COST["cd_waste"],
                         "must_use": "false", "source": "[xiongan-cd] build-out estimate [U]"})

    # ---- facilities ---------------------------------------------------------------------------
    process_capex = {pid: float(r["capex"]) for pid, r in read_processes().items()}
    used = {f[1] for f in FACILITIES}
    for sid, zh, en, region, lat, lon, designation, source in PLACES:
        if sid in used:
            add_site(sid, zh, en, region, lat, lon, "facility", designation, source)
    facilities = []
    for fid, site, process, year, cap, max_cap, candidate, source in FACILITIES:
        if process not in process_capex:
            raise ValueError(f"facility {fid}: process {process!r} is not in the catalog")
        if site.startswith("U-"):
            pref = site[2:]
            pzh, pen = NAME[pref]
            add_site(site, f"{pzh}既有综合利用企业（汇总）", f"{pen} existing utilizers (aggregated)",
                     pref, *offset(pref, (-0.03, 0.03)), "facility",
                     source="[est-capacity] aggregated existing utilizers; [gazetteer] coordinates")
        elif site not in sites:
            raise ValueError(f"facility {fid}: unknown site {site}")
        add_role(site, "facility")  # generator sites that also host a line (converters, centres)
        fixed = process_capex[process] * cap * MT * ANNUITY if candidate else 0.0
        host_mt, host_src = host_output(fid, site, process)
        facilities.append({
            "id": fid, "site": site, "process": process, "year": year, "capacity_t": r6(cap * MT),
            "expandable": "true" if max_cap else "false", "max_capacity_t": r6(max_cap * MT),
            "capex": "", "fixed_cost": r6(fixed), "candidate": "true" if candidate else "false",
            "source": source + ("; fixed_cost = catalog capex × capacity × annuity(6%, 15 yr)"
                                if candidate else "") + host_src,
            "host_output_t": r6(host_mt * MT),
        })
    add_battery_plants(sites, facilities)
    bulk, bulk_notes = bulk_routes(supplies, sites, facilities, stats)
    bulk_notes[-1]["isw"] = isw_notes
    for f in bulk:
        add_role(f["site"], "facility")
    facilities += bulk
    named = named_utilizers(read_named_utilizers(), sites, facilities, add_site, add_role)
    plant_notes = split_generators(supplies, sites, facilities)  # plantsgen: named plants take their share

    # ---- demands ------------------------------------------------------------------------------
    demands = []
    markets = route_markets()
    for sid, zh, en, region, lat, lon in DEMAND_SITES:
        add_site(sid, zh, en, region, lat, lon, "demand", "", "[demand-est] market node; [gazetteer]")
        extra = markets.get(sid, {})
        for product in [*DEMAND[sid], *(p for p in extra if p not in DEMAND[sid])]:
            q = DEMAND[sid].get(product, 0.0) + extra.get(product, 0.0)
            qsrc = {"D-beijing": "[agg-demand] Beijing 85 Mt/yr aggregate (band 85–120) [V band, U default]",
                    "D-tianjin": "[agg-demand] Tianjin 65 Mt/yr aggregate (band 65–90) [V band, U default]",
                    "D-xiongan": "[xiongan-demand] 50–80 Mt/yr run-rate [U]"}.get(sid, "[demand-est] [U]")
            if product not in ("coarse_aggregate", "manufactured_sand"):
                qsrc = "[demand-est] [U]" if product in DEMAND[sid] else ""
            if (sid, product) in DEMAND_NOTE:
                qsrc = DEMAND_NOTE[(sid, product)]
            if product in extra:
                key = "admixture-market" if product == "cement" else "plasterboard-market"
                qsrc = " + ".join(filter(None, [qsrc, f"{extra[product]:.2f} Mt [{key}] [U]"]))
            for i, year in enumerate(YEARS):
                value = PREMIUM.get(sid, {}).get(product, PRICE[product])[i]
                demands.append({
                    "site": sid, "material": product, "year": year,
                    "quantity_t": r6(q * MT * DEMAND_TREND[year]), "value": float(value),
                    "must_meet": "false",
                    "source": f"{qsrc}; value {PRICE_SOURCE.get(product, '[prices-est] [U]')}",
                })

    demands += battery_demands()
    virgin_supply = virgin_rows(demands, {sid: region for sid, _, _, region, *_ in DEMAND_SITES})

    # ---- terminals and corridors -----------------------------------------------------------
    terminals = []
    for sid, zh, en, region, lat, lon, handling, cap, source in TERMINALS:
        add_site(sid, zh, en, region, lat, lon, "terminal", "", source)
        terminals.append({"site": sid, "handling_cost": float(handling), "capacity_t": r6(cap * MT),
                          "source": f"{source}; handling cost [rail-handling] [U]"})
    corridors = [{"id": i, "from_region": a, "to_region": b, "material": m, "min_rail_share": s,
                  "source": "[corridor-illustrative] illustrative policy, not a published rule [U]"}
                 for i, a, b, m, s in CORRIDORS]

    for site in sites.values():
        if not datasets.in_province(PROVINCE_OF[site["region"]], site["lat"], site["lon"]):
            raise ValueError(f"site {site['id']} at {site['lat']}, {site['lon']} is outside "
                             f"province {PROVINCE_OF[site['region']]}")
    regions = [{"code": c, "name_zh": zh, "name_en": en, "level": "province", "parent": "",
                "lat": lat, "lon": lon} for c, zh, en, lat, lon in PROVINCES]
    regions += [{"code": c, "name_zh": zh, "name_en": en, "level": "prefecture",
                 "parent": parent_of(c), "lat": lat, "lon": lon} for c, zh, en, lat, lon in PREFECTURES]
    return {
        "regions": regions, "sites": list(sites.values()), "supplies": supplies,
        "facilities": facilities, "demands": demands, "terminals": terminals,
        "corridors": corridors, "virgin_supply": virgin_supply,
        "programmes": build_programmes(list(sites.values()), facilities),
        "_calibration": calibration, "_notes": notes, "_bulk": bulk_notes, "_plants": plant_notes, "_named": named,
    }


# ---------------------------------------------------------------------------------------------
# Programmes the plan counts (bases, parks, clusters, centres, enterprises), each with its status.
# Only what a source names; nothing is added to reach a target. A programme counts toward a
# count target only when built or accepted (status and year sourced), or when the plan builds
# and runs the candidate facilities it links. The plan's "建设/形成/培育 N 个" is read as N that
# exist and work by 2022, so proposed and approved programmes do not count.
# (id, kind, zh, en, site, facilities, status, approved, built, accepted, source)
# ---------------------------------------------------------------------------------------------
PLAN_PARKS_NAMED = "[plan] task 九 names it among the existing parks the 15 parks build on (以现有产业园区和骨干企业为基础); it exists by the plan's date (2020)"
PROGRAMMES = [
    ("P-isw-base-shuozhou", "isw_base", "山西朔州工业固废综合利用基地", "Shuozhou (Shanxi) ISW comprehensive-utilization base",
     "S-shuozhou", "", "built", 0, 2012, 0,
     "[plan] task 九 names 山西朔州; [shuozhou-2012] the only Shanxi city in MIIT's first batch of 12 national ISW demonstration bases (12th FYP, year ~2012 [P])"),
    ("P-park-ziya", "recycling_park", "天津子牙循环经济产业区", "Tianjin Ziya circular-economy park",
     "S-ziya", "", "built", 0, 2020, 0, PLAN_PARKS_NAMED),
    ("P-park-dingzhou", "recycling_park", "河北定州再生资源产业园", "Dingzhou (Hebei) recycled-resource park",
     "S-dingzhou", "", "built", 0, 2020, 0, PLAN_PARKS_NAMED),
    ("P-park-linyi", "recycling_park", "山东临沂再生资源产业园", "Linyi (Shandong) recycled-resource park",
     "S-linyi", "", "built", 0, 2020, 0, PLAN_PARKS_NAMED),
    ("P-park-xuchang", "recycling_park", "河南许昌再生资源产业园", "Xuchang (Henan) recycled-resource park",
     "S-xuchang", "", "built", 0, 2020, 0, PLAN_PARKS_NAMED),
    ("P-park-baotou", "recycling_park", "内蒙古包头再生资源产业园", "Baotou (Inner Mongolia) recycled-resource park",
     "S-baotou-park", "", "built", 0, 2020, 0, PLAN_PARKS_NAMED),
    # task 七: 3–5 large regional waste-paper sorting centres in Tianjin, Beijing, Hebei, Shandong;
    # none existed as such: each is a candidate facility that counts once the plan builds and runs it
    *[(f"P-paper-{k}", "paper_centre", zh, en, f"S-paper-{k}", f"C-paper-{k}", "proposed", 0, 0, 0,
       "[plan] task 七 (Tianjin, Beijing, Hebei, Shandong); site and size [U]; counts when the plan builds and runs the linked candidate")
      for k, zh, en in (("tianjin", "天津废纸分拣加工中心", "Tianjin waste-paper sorting centre"),
                        ("beijing", "北京废纸分拣加工中心", "Beijing waste-paper sorting centre"),
                        ("langfang", "河北（廊坊）废纸分拣加工中心", "Hebei (Langfang) waste-paper sorting centre"),
                        ("weifang", "山东（潍坊）废纸分拣加工中心", "Shandong (Weifang) waste-paper sorting centre"))],
    # task 七: processing leaders to be cultivated in named places (no firm named: proposed)
    *[(f"P-enterprise-{k}", "backbone_enterprise", zh, en, site, "", "proposed", 0, 0, 0,
       f"[plan] task 七 names {place} for waste-tyre/plastics leaders; no firm named")
      for k, zh, en, site, place in (
          ("dingzhou-polymer", "定州废旧轮胎废塑料加工龙头企业", "Dingzhou tyre/plastics leader", "S-dingzhou", "定州"),
          ("jinan-polymer", "济南废旧轮胎废塑料加工龙头企业", "Jinan tyre/plastics leader", "S-jinan-polymer", "济南"),
          ("jiaozuo-polymer", "焦作废旧轮胎废塑料加工龙头企业", "Jiaozuo tyre/plastics leader", "S-jiaozuo-polymer", "焦作"),
          ("pingyao-polymer", "平遥废旧轮胎加工龙头企业", "Pingyao tyre leader", "S-pingyao-polymer", "平遥"))],
    # task 四: ≥10 co-utilization bases in Hebei, Shanxi, Inner Mongolia, Shandong, Henan; the plan
    # names no base, the dataset's sites are illustrative: proposed, not counted
    *[(f"P-co-base-{k}", "co_utilization_base", zh, en, site, "", "proposed", 0, 0, 0,
       "[plan] task 四 names provinces only; site illustrative [U]; no published designation found")
      for k, zh, en, site in (
          ("caofeidian", "曹妃甸冶金固废协同利用基地", "Caofeidian metallurgical waste co-utilization base", "S-caofeidian"),
          ("wuan", "武安钢渣协同利用基地", "Wu'an steel-slag co-utilization base", "S-wuan"),
          ("shuozhou", "朔州煤电固废协同利用基地", "Shuozhou coal-power waste co-utilization base", "S-shuozhou"),
          ("baotou", "包头冶金煤电固废协同利用基地", "Baotou metallurgy and coal-power co-utilization base", "S-baotou-co"),
          ("laiwu", "济南（莱芜）钢渣矿渣协同利用基地", "Jinan (Laiwu) slag co-utilization base", "S-jinan-co"),
          ("anyang", "安阳冶金固废协同利用基地", "Anyang metallurgical waste co-utilization base", "S-anyang-co"),
          ("ordos", "鄂尔多斯煤电固废协同利用基地", "Ordos coal-power waste co-utilization base", "S-ordos-co"),
          ("changzhi", "长治煤电冶金固废协同利用基地", "Changzhi coal-power and metallurgy co-utilization base", "S-changzhi-co"))],
    # task 十一: Tangshan supply base for Xiong'an (a cluster in the making; not designated)
    ("P-cluster-luanzhou", "cluster", "唐山（滦州）雄安建材供应集聚区", "Tangshan (Luanzhou) Xiong'an building-materials cluster",
     "S-luanzhou", "", "proposed", 0, 0, 0, "[plan] task 十一 (Tangshan supply base for Xiong'an); not a designated cluster"),
]


def build_programmes(sites: list[dict], facilities: list[dict]) -> list[dict]:
    """The programmes table: region from the linked site; links checked against the tables."""
    region = {s["id"]: s["region"] for s in sites}
    fac_ids = {f["id"] for f in facilities}
    rows = []
    for pid, kind, zh, en, site, facs, status, approved, built, accepted, source in PROGRAMMES:
        if site not in region:
            raise ValueError(f"programme {pid}: unknown site {site}")
        for f in (x for x in facs.split(";") if x):
            if f not in fac_ids:
                raise ValueError(f"programme {pid}: unknown facility {f}")
        rows.append({"id": pid, "kind": kind, "name_zh": zh, "name_en": en, "region": region[site],
                     "org_uscc": "", "sites": site, "facilities": facs, "status": status,
                     "approved_year": approved, "built_year": built, "accepted_year": accepted,
                     "source": source})
    return rows


def read_processes() -> dict[str, dict[str, str]]:
    """The catalog's processes by id (rows as read)."""
    with PROCESSES.open(encoding="utf-8") as fh:
        return {r["id"]: r for r in csv.DictReader(fh)}


def read_process_inputs() -> dict[str, dict[str, float]]:
    """Input rates of every catalog process: {process: {material: t per t of input}}."""
    out: dict[str, dict[str, float]] = defaultdict(dict)
    with PROCESS_IO.open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["direction"] == "in":
                out[r["process"]][r["material"]] = float(r["rate"])
    return out


def virgin_rows(demands: list[dict], region_of: dict[str, str]) -> list[dict]:
    """virgin_supply rows: JJJ natural sand and gravel capacity per market region and year."""
    rows = []
    for year in YEARS:
        cap = JJJ_QUARRY_MT * MT * (1 - VIRGIN_PHASE_DOWN) ** (year - JJJ_QUARRY_YEAR)
        mine = [d for d in demands if d["year"] == year and d["material"] in VIRGIN_MATERIALS
                and PROVINCE_OF[region_of[d["site"]]] in JJJ_PROVINCES]
        total = sum(d["quantity_t"] for d in mine)
        by_key: dict[tuple[str, str], float] = defaultdict(float)
        for d in mine:
            by_key[(region_of[d["site"]], d["material"])] += d["quantity_t"]
        for (region, material), q in sorted(by_key.items()):
            rows.append({
                "region": region, "material": material, "year": year,
                "capacity_t": r6(cap * q / total), "price": "", "co2": "",
                "source": f"[jjj-quarries-2017] {JJJ_QUARRY_MT} Mt/yr design capacity of JJJ sand & "
                          f"gravel mines (Jun 2017) [V] × {1 - VIRGIN_PHASE_DOWN:.1f}^"
                          f"{year - JJJ_QUARRY_YEAR} phase-down [U: estimate] × this market's "
                          f"share {q / total:.3f} of modelled JJJ aggregate demand [U]; price = "
                          "the demand's value",
            })
    return rows


def schema_columns(table: str) -> list[str]:
    with SCHEMA.open(encoding="utf-8") as fh:
        return [r["column"] for r in csv.DictReader(fh) if r["table"] == table]


def fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.6f}".rstrip("0").rstrip(".") if not v.is_integer() else str(int(v))
    return str(v)


def write(name: str, rows: list[dict], columns: list[str]) -> None:
    with (OUT / f"{name}.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(columns)
        for r in rows:
            w.writerow([fmt(r.get(c, "")) for c in columns])


def notes_markdown(notes: list[dict], tables: dict[str, list[dict]]) -> str:
    lines = ["| province | material | anchor scale factor |", "|---|---|---|"]
    lines += [f"| {NAME[n['province']][1]} | {n['material']} | {n['scale']:.3f} |" for n in notes]
    totals = defaultdict(float)
    kinds = {m: "industrial_waste" for m in ISW} | {m: "recycled_resource" for m in (*RECYCLED_SHARE, BATTERY)} | \
        {m: "urban_waste" for m in URBAN_PER_CAPITA}
    for s in tables["supplies"]:
        totals[(PROVINCE_OF[s["site"].split("-")[1]] if s["site"] != "G-xiongan-urban" else "130000",
                kinds[s["material"]], s["year"])] += s["generation_t"]
    lines += ["", "| province | kind | 2020 Mt | 2021 Mt | 2022 Mt |", "|---|---|---|---|---|"]
    for prov, *_ in PROVINCES:
        for kind in ("industrial_waste", "recycled_resource", "urban_waste"):
            vals = [totals.get((prov, kind, y), 0.0) / MT for y in YEARS]
            lines.append(f"| {NAME[prov][1]} | {kind} | " + " | ".join(f"{v:.2f}" for v in vals) + " |")
    *provinces, total = tables["_bulk"]
    lines += ["", "Bulk routes: existing capacity, Mt/yr of input (2020 basis; scale factor "
              f"{total['scale']:.3f}, region rate {total['region_rate']:.3f}).", "",
              "| province | generation 2020 | rate | other facilities (ISW intake) | "
              + " | ".join(ROUTES) + " | total | total / generation |",
              "|---|" + "---|" * (len(ROUTES) + 5)]
    for n in provinces:
        cap = n["existing"] + sum(n["routes"].values())
        lines.append(f"| {NAME[n['province']][1]} | {n['generation']:.1f} | {n['rate']:.3f} | "
                     f"{n['existing']:.1f} | " + " | ".join(f"{v:.1f}" for v in n["routes"].values())
                     + f" | {cap:.1f} | {cap / n['generation']:.2f} |")
    region = total["existing"] + sum(sum(n["routes"].values()) for n in provinces)
    lines.append(f"| region | {sum(n['generation'] for n in provinces):.1f} | | {total['existing']:.1f} | "
                 + " | ".join(f"{sum(n['routes'][r] for n in provinces):.1f}" for r in ROUTES)
                 + f" | {region:.1f} | |")
    counts = (f"\nSites {len(tables['sites'])}, supplies rows {len(tables['supplies'])}, facilities "
              f"{len(tables['facilities'])} (candidates "
              f"{sum(f['candidate'] == 'true' for f in tables['facilities'])}), demand rows per year "
              f"{len(tables['demands']) // len(YEARS)}, terminals {len(tables['terminals'])}.")
    lines += named_markdown(tables)
    return ("\n".join(lines) + "\n" + counts + "\n" + statistics_markdown(tables)  # hook (statsprov)
            + "\n" + plants_markdown(tables.get("_plants", [])))


SOURCE_FILES = ROOT / "scripts" / "dataset"  # sources*.csv: the sources table, one file per owner
SOURCES_BEGIN, SOURCES_END = "<!-- sources:begin -->", "<!-- sources:end -->"


def read_source_tables() -> dict:
    """Every ``scripts/dataset/sources*.csv`` (sorted by name), one table by key; a key defined
    twice is an error naming both files (provenance.read_sources)."""
    from resynergy.datasets.provenance import read_sources

    return read_sources(sorted(SOURCE_FILES.glob("sources*.csv")))


def check_citations(tables: dict[str, list[dict]], sources: dict) -> None:
    """Every key cited by a generated row resolves to the sources table, else a located error."""
    from resynergy.datasets.provenance import parse

    missing: dict[str, str] = {}
    for name, rows in tables.items():
        if name.startswith("_") and name != "_calibration":
            continue
        for n, row in enumerate(rows, start=2):
            for key in parse(row.get("source", "")).keys:
                if key not in sources:
                    missing.setdefault(key, f"{name}.csv row {n}")
    if missing:
        raise SystemExit("source keys cited but not in scripts/dataset/sources*.csv: " + "; ".join(
            f"[{k}] (first at {where})" for k, where in sorted(missing.items())))


def md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def sources_markdown(sources: dict) -> str:
    """The key table of SOURCES.md, generated from the sources table."""
    lines = ["| key | what was taken | source | tag | how (P and U) |", "|---|---|---|---|---|"]
    for key in sorted(sources):
        s = sources[key]
        where = " · ".join(x for x in (s.title, s.publisher, s.date,
                                        s.url if s.url and s.url not in s.taken else "") if x)
        lines.append(f"| `{key}` | {md_cell(s.taken)} | {md_cell(where)} | {s.confidence} | "
                     f"{md_cell(s.method)} |")
    return "\n".join(lines) + "\n"


COVERAGE_BEGIN, COVERAGE_END = "<!-- coverage:begin -->", "<!-- coverage:end -->"


def coverage_markdown(tables: dict[str, list[dict]], sources: dict) -> str:
    """The #15 figures of the built tables (resynergy.datasets.provenance.coverage, the function
    behind ``resynergy data info --sources``), for SOURCES.md."""
    import pandas as pd

    from resynergy.datasets.provenance import MEASURE_NAMES, coverage

    frames = {name: pd.DataFrame(rows) for name, rows in tables.items() if not name.startswith("_")}
    cov = coverage(frames, sources)
    pct = lambda v: "—" if v is None else f"{v:.1%}"  # noqa: E731
    lines = [f"Year {cov['year']}; backed = V or P under the weakest-tag rule.", "",
             "| goal | required | now | met |", "|---|---|---|---|"]
    for g in cov["goals"]:
        fmt = str if g["id"] == "organisations" else pct
        lines.append(f"| {MEASURE_NAMES[g['id']][1]} | ≥ {fmt(g['target'])} | {fmt(g['value'])} | "
                     f"{'met' if g['met'] else 'not met'} |")
    measures = cov["measures"]
    lines += ["", "| province | " + " | ".join(measures) + " | organisations |",
              "|---|" + "---|" * (len(measures) + 1)]
    for code, *_ in PROVINCES:
        lines.append(f"| {NAME[code][1]} | " + " | ".join(
            pct(m["by_province"].get(code, {}).get("share")) for m in measures.values())
            + f" | {cov['organisations']['by_province'].get(code, 0)} |")
    lines += ["", "| table | rows | V | P | U | unsourced |", "|---|---|---|---|---|---|"]
    for name, t in cov["tables"].items():
        lines.append(f"| {name} | {t['rows']} | {t['V']} | {t['P']} | {t['U']} | {t['unsourced']} |")
    return "\n".join(lines) + "\n"


def replace_block(text: str, begin: str, end: str, body: str) -> str:
    block = f"{begin}\n{body}{end}"
    if begin not in text:
        raise SystemExit(f"SOURCES.md lacks the marker {begin}")
    return re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)


def main() -> None:
    from resynergy.datasets.provenance import write_sources

    sources_table = read_source_tables()
    tables = build()
    check_citations(tables, sources_table)
    OUT.mkdir(parents=True, exist_ok=True)
    for name in ("regions", "sites", "supplies", "facilities", "demands", "virgin_supply", "terminals",
                 "corridors", "programmes"):
        write(name, tables[name], schema_columns(name))
    write("_calibration", tables["_calibration"],
          ["scope", "material", "year", "quantity", "source", "confidence"])
    write_sources(sources_table, OUT / datasets.SOURCES_FILE)
    sources = OUT / "SOURCES.md"
    text = sources.read_text(encoding="utf-8")
    text = replace_block(text, SOURCES_BEGIN, SOURCES_END, sources_markdown(sources_table))
    text = replace_block(text, COVERAGE_BEGIN, COVERAGE_END, coverage_markdown(tables, sources_table))
    text = replace_block(text, "<!-- generated:begin -->", "<!-- generated:end -->",
                         notes_markdown(tables["_notes"], tables))
    text = with_battery_block(text, tables)
    sources.write_text(text, encoding="utf-8")
    print(notes_markdown(tables["_notes"], tables))


if __name__ == "__main__":
    main()
