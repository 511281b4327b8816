"""Rebuild `regions.geojson` and `places.json` from the public datasets in ../shared/data.

A maintainer's tool, not needed at run time: the generated files are committed. Boundaries come
from geoBoundaries (ODbL 1.0, © OpenStreetMap contributors), settlement coordinates, ids and
populations from GeoNames (CC BY 4.0); the spellings and the hierarchy are written out below.

    python seeds/build_seeds.py [path/to/shared/data]
"""

import csv
import gzip
import json
import sys
from pathlib import Path
from typing import Any

from shapely.geometry import MultiPolygon, mapping, shape

SEEDS = Path(__file__).resolve().parent
SIMPLIFY_DEGREES = 0.01  # ~1 km: enough for `within=` at oblast scale, small in the repo

# (iso, slug, English name, parent, [(spelling, language tag), ...])
REGIONS = [
    ("RU-KRS", "kursk-oblast", "Kursk Oblast", "russia",
     [("Курская область", "ru"), ("Курська область", "uk"), ("Kurskaya oblast", "ru-Latn"),
      ("Kurska oblast", "uk-Latn")]),
    ("RU-BEL", "belgorod-oblast", "Belgorod Oblast", "russia",
     [("Белгородская область", "ru"), ("Бєлгородська область", "uk"),
      ("Belgorodskaya oblast", "ru-Latn"), ("Bilhorod Oblast", "uk-Latn")]),
    ("RU-BRY", "bryansk-oblast", "Bryansk Oblast", "russia",
     [("Брянская область", "ru"), ("Брянська область", "uk"), ("Bryanskaya oblast", "ru-Latn")]),
    ("RU-ROS", "rostov-oblast", "Rostov Oblast", "russia",
     [("Ростовская область", "ru"), ("Ростовська область", "uk"),
      ("Rostovskaya oblast", "ru-Latn")]),
    ("UA-59", "sumy-oblast", "Sumy Oblast", "ukraine",
     [("Сумська область", "uk"), ("Сумская область", "ru"), ("Sumska oblast", "uk-Latn")]),
    ("UA-63", "kharkiv-oblast", "Kharkiv Oblast", "ukraine",
     [("Харківська область", "uk"), ("Харьковская область", "ru"),
      ("Kharkivska oblast", "uk-Latn"), ("Kharkov Oblast", "ru-Latn")]),
    ("UA-09", "luhansk-oblast", "Luhansk Oblast", "ukraine",
     [("Луганська область", "uk"), ("Луганская область", "ru"), ("Luhanska oblast", "uk-Latn"),
      ("Lugansk Oblast", "ru-Latn")]),
    ("UA-14", "donetsk-oblast", "Donetsk Oblast", "ukraine",
     [("Донецька область", "uk"), ("Донецкая область", "ru"), ("Donetska oblast", "uk-Latn")]),
    ("UA-23", "zaporizhzhia-oblast", "Zaporizhzhia Oblast", "ukraine",
     [("Запорізька область", "uk"), ("Запорожская область", "ru"),
      ("Zaporizka oblast", "uk-Latn"), ("Zaporozhye Oblast", "ru-Latn")]),
    ("UA-65", "kherson-oblast", "Kherson Oblast", "ukraine",
     [("Херсонська область", "uk"), ("Херсонская область", "ru"),
      ("Khersonska oblast", "uk-Latn")]),
]  # fmt: skip

# Places without a boundary in the seeds. Settlements carry a GeoNames id (coordinates and
# population are read from GeoNames) or, when GeoNames has no row, hand-checked coordinates.
COUNTRIES = [
    {"slug": "russia", "name": "Russia", "kind": "country", "country_code": "RU",
     "lon": 37.61556, "lat": 55.75222, "geonames_id": 2017370,
     "names": [("Россия", "ru"), ("Росія", "uk"), ("Russian Federation", "en"),
               ("Rossiya", "ru-Latn")]},
    {"slug": "ukraine", "name": "Ukraine", "kind": "country", "country_code": "UA",
     "lon": 30.5238, "lat": 50.45466, "geonames_id": 690791,
     "names": [("Україна", "uk"), ("Украина", "ru"), ("Ukraina", "uk-Latn")]},
]  # fmt: skip
DISTRICTS = [
    {"slug": "sudzhansky-district", "name": "Sudzhansky District", "kind": "district",
     "country_code": "RU", "parent": "kursk-oblast", "lon": 35.2726, "lat": 51.1976,
     "names": [("Суджанский район", "ru"), ("Суджанський район", "uk"),
               ("Sudzhanskiy rayon", "ru-Latn")]},
    {"slug": "krasnoyaruzhsky-district", "name": "Krasnoyaruzhsky District", "kind": "district",
     "country_code": "RU", "parent": "belgorod-oblast", "lon": 35.65833, "lat": 50.80083,
     "names": [("Краснояружский район", "ru"), ("Краснояружський район", "uk"),
               ("Krasnoyaruzhskiy rayon", "ru-Latn")]},
]  # fmt: skip
# (GeoNames id, slug, parent, [(spelling, language tag), ...]); the English name is GeoNames'.
SETTLEMENTS = [
    (486816, "sudzha", "sudzhansky-district",
     [("Суджа", "ru"), ("Суджа", "uk"), ("Sudža", "ru-Latn"), ("Sudja", "fr")]),
    (538560, "kursk", "kursk-oblast", [("Курск", "ru"), ("Курськ", "uk"), ("Kursk", "en")]),
    (578072, "belgorod", "belgorod-oblast",
     [("Белгород", "ru"), ("Бєлгород", "uk"), ("Bilhorod", "uk-Latn")]),
    (571476, "bryansk", "bryansk-oblast", [("Брянск", "ru"), ("Брянськ", "uk")]),
    (544906, "korenevo", "kursk-oblast",
     [("Коренево", "ru"), ("Коренєво", "uk"), ("Korenevo", "en")]),
    (560995, "glushkovo", "kursk-oblast", [("Глушково", "ru"), ("Глушкове", "uk")]),
    (495112, "shebekino", "belgorod-oblast", [("Шебекино", "ru"), ("Шебекине", "uk")]),
    (559034, "grayvoron", "belgorod-oblast",
     [("Грайворон", "ru"), ("Грайворон", "uk"), ("Graivoron", "en")]),
    (542571, "krasnaya-yaruga", "krasnoyaruzhsky-district",
     [("Красная Яруга", "ru"), ("Красна Яруга", "uk")]),
    (692194, "sumy", "sumy-oblast", [("Суми", "uk"), ("Сумы", "ru")]),
    (704343, "krasnopillia", "sumy-oblast",
     [("Краснопілля", "uk"), ("Краснополье", "ru"), ("Krasnopolye", "ru-Latn")]),
    (690230, "velyka-pysarivka", "sumy-oblast",
     [("Велика Писарівка", "uk"), ("Великая Писаревка", "ru"),
      ("Velikaya Pisarevka", "ru-Latn")]),
    (706483, "kharkiv", "kharkiv-oblast",
     [("Харків", "uk"), ("Харьков", "ru"), ("Kharkov", "ru-Latn")]),
    (689304, "vovchansk", "kharkiv-oblast",
     [("Вовчанськ", "uk"), ("Волчанск", "ru"), ("Volchansk", "ru-Latn")]),
    (703656, "kupiansk", "kharkiv-oblast",
     [("Куп'янськ", "uk"), ("Купянск", "ru"), ("Kupyansk", "ru-Latn")]),
    (709717, "donetsk", "donetsk-oblast", [("Донецьк", "uk"), ("Донецк", "ru")]),
    (565348, "donetsk-rostov", "rostov-oblast", [("Донецк", "ru"), ("Донецьк", "uk")]),
    (704422, "pokrovsk", "donetsk-oblast", [("Покровськ", "uk"), ("Покровск", "ru")]),
    (713174, "bakhmut", "donetsk-oblast",
     [("Бахмут", "uk"), ("Бахмут", "ru"), ("Artemivsk", "uk-Latn"), ("Артёмовск", "ru")]),
    (713122, "avdiivka", "donetsk-oblast",
     [("Авдіївка", "uk"), ("Авдеевка", "ru"), ("Avdeyevka", "ru-Latn")]),
    (710915, "chasiv-yar", "donetsk-oblast",
     [("Часів Яр", "uk"), ("Часов Яр", "ru"), ("Chasov Yar", "ru-Latn")]),
    (709354, "toretsk", "donetsk-oblast",
     [("Торецьк", "uk"), ("Торецк", "ru"), ("Dzerzhynsk", "uk-Latn")]),
    (705104, "kostiantynivka", "donetsk-oblast",
     [("Костянтинівка", "uk"), ("Константиновка", "ru"), ("Konstantinovka", "ru-Latn")]),
    (704508, "kramatorsk", "donetsk-oblast", [("Краматорськ", "uk"), ("Краматорск", "ru")]),
    (693468, "sloviansk", "donetsk-oblast",
     [("Слов'янськ", "uk"), ("Славянск", "ru"), ("Slavyansk", "ru-Latn")]),
    (704204, "lyman", "donetsk-oblast",
     [("Лиман", "uk"), ("Лиман", "ru"), ("Krasnyi Lyman", "uk-Latn")]),
    (694403, "siversk", "donetsk-oblast",
     [("Сіверськ", "uk"), ("Северск", "ru"), ("Seversk", "ru-Latn")]),
    (695357, "kurakhove", "donetsk-oblast",
     [("Курахове", "uk"), ("Курахово", "ru"), ("Kurakhovo", "ru-Latn")]),
    (710035, "myrnohrad", "donetsk-oblast",
     [("Мирноград", "uk"), ("Мирноград", "ru"), ("Dymytrov", "uk-Latn")]),
    (694677, "selydove", "donetsk-oblast", [("Селидове", "uk"), ("Селидово", "ru")]),
    (701822, "mariupol", "donetsk-oblast", [("Маріуполь", "uk"), ("Мариуполь", "ru")]),
    (702658, "luhansk", "luhansk-oblast",
     [("Луганськ", "uk"), ("Луганск", "ru"), ("Lugansk", "ru-Latn")]),
    (687700, "zaporizhzhia", "zaporizhzhia-oblast",
     [("Запоріжжя", "uk"), ("Запорожье", "ru"), ("Zaporizhzhia", "en"),
      ("Zaporozhye", "ru-Latn")]),
    (698428, "orikhiv", "zaporizhzhia-oblast",
     [("Оріхів", "uk"), ("Орехов", "ru"), ("Orekhov", "ru-Latn")]),
    (706448, "kherson", "kherson-oblast", [("Херсон", "uk"), ("Херсон", "ru")]),
    (501175, "rostov-on-don", "rostov-oblast",
     [("Ростов-на-Дону", "ru"), ("Ростов-на-Дону", "uk"), ("Rostov-on-Don", "en")]),
]  # fmt: skip
# Too small for GeoNames cities500: placed by hand from published maps (see README.md).
HAND_PLACED = [
    {"slug": "demidovka", "name": "Demidovka", "kind": "settlement", "country_code": "RU",
     "parent": "krasnoyaruzhsky-district", "lon": 35.5199, "lat": 50.8537,
     "names": [("Демидовка", "ru"), ("Демидівка", "uk"), ("Demydivka", "uk-Latn"),
               ("Demidowka", "de")]},
    {"slug": "prilesye", "name": "Prilesye", "kind": "settlement", "country_code": "RU",
     "parent": "krasnoyaruzhsky-district", "lon": 35.5850, "lat": 50.8290,
     "names": [("Прилесье", "ru"), ("Прилісся", "uk"), ("Prylissia", "uk-Latn"),
               ("Prilesie", "ru-Latn")]},
]  # fmt: skip


def read_geonames(data: Path) -> dict[int, dict[str, str]]:
    path = data / "gazetteer" / "geonames_cities500_ua_ru_border.tsv.gz"
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        return {int(r["geonameid"]): r for r in csv.DictReader(handle, delimiter="\t")}


def read_boundaries(data: Path) -> dict[str, dict[str, Any]]:
    features = {}
    for name in ("ukraine", "russia"):
        path = data / "boundaries" / f"{name}_adm1_geoboundaries_simplified.geojson.gz"
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for feature in json.load(handle)["features"]:
                features[feature["properties"]["shapeISO"]] = feature
    return features


def names(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": name, "lang": lang} for name, lang in pairs]


def region_feature(boundaries: dict[str, dict[str, Any]], row: tuple[Any, ...]) -> dict[str, Any]:
    iso, slug, name, parent, spellings = row
    geometry = shape(boundaries[iso]["geometry"]).simplify(SIMPLIFY_DEGREES, preserve_topology=True)
    if not isinstance(geometry, MultiPolygon):
        geometry = MultiPolygon([geometry])
    assert geometry.is_valid, iso
    return {
        "type": "Feature",
        "properties": {"slug": slug, "name": name, "kind": "region", "parent": parent,
                       "country_code": iso[:2], "iso_code": iso, "names": names(spellings)},
        "geometry": json.loads(json.dumps(mapping(geometry))),
    }  # fmt: skip


def settlement(geonames: dict[int, dict[str, str]], row: tuple[Any, ...]) -> dict[str, Any]:
    geonames_id, slug, parent, spellings = row
    record = geonames[geonames_id]
    return {
        "slug": slug, "name": record["name"], "kind": "settlement",
        "country_code": record["country_code"], "parent": parent, "geonames_id": geonames_id,
        "population": int(record["population"]) or None,
        "lon": float(record["longitude"]), "lat": float(record["latitude"]),
        "names": names(spellings),
    }  # fmt: skip


def with_names(place: dict[str, Any]) -> dict[str, Any]:
    return {**place, "names": names(place["names"])}


def main(data: Path) -> None:
    boundaries, geonames = read_boundaries(data), read_geonames(data)
    regions = {"type": "FeatureCollection",
               "features": [region_feature(boundaries, row) for row in REGIONS]}  # fmt: skip
    places = [with_names(p) for p in COUNTRIES + DISTRICTS + HAND_PLACED]
    places += [settlement(geonames, row) for row in SETTLEMENTS]
    (SEEDS / "regions.geojson").write_text(json.dumps(regions, ensure_ascii=False) + "\n")
    body = json.dumps({"places": places}, ensure_ascii=False, indent=1)
    (SEEDS / "places.json").write_text(body + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else SEEDS.parent.parent / "shared" / "data")
