"""The scripted model's side of the TTE tests: what a model would write for the bundled
science problems (src/toolforge/tte/data/science.jsonl).

Each role talks to its own scripted model name (agent, synthesis, tests, adversarial), so
rules match on the role and the tool's name rather than on prompt wording.
"""

from __future__ import annotations

import json
from typing import Any

ROLES = {"agent": "TOOLFORGE_AGENT_MODEL", "synthesis": "TOOLFORGE_SYNTH_MODEL",
         "tests": "TOOLFORGE_TESTS_MODEL", "adversarial": "TOOLFORGE_ADVERSARIAL_MODEL"}


def fenced(code: str) -> str:
    return f"```python\n{code.strip()}\n```"


# --- tools ---------------------------------------------------------------------------------

CELSIUS_TO_KELVIN = '''
def celsius_to_kelvin(celsius: float) -> float:
    """Convert a temperature from degrees Celsius to kelvin.

    Args:
        celsius: the temperature in degrees Celsius.

    Returns:
        The temperature in kelvin.

    Raises:
        ValueError: if the temperature is below absolute zero.
    """
    kelvin = celsius + 273.15
    if kelvin < 0:
        raise ValueError("below absolute zero")
    return round(kelvin, 9)
'''

# The same behaviour as celsius_to_kelvin under another name, other words, another
# parameter name: dedup must refuse it by behaviour.
ABSOLUTE_TEMPERATURE = '''
def absolute_temperature(reading_c: float) -> float:
    """Express a thermometer reading on the absolute thermodynamic scale.

    Args:
        reading_c: the reading of the thermometer, in degrees centigrade.

    Returns:
        The same temperature on the absolute scale.

    Raises:
        ValueError: when the reading is colder than absolute zero.
    """
    absolute = 273.15 + reading_c
    if absolute < 0:
        raise ValueError("colder than absolute zero")
    return round(absolute, 9)
'''

KM_TO_MILES = '''
def km_to_miles(km: float) -> float:
    """Convert a distance from kilometres to statute miles.

    Args:
        km: the distance in kilometres.

    Returns:
        The distance in miles.
    """
    return km / 1.609344
'''

MOLAR_MASS = '''
import re

_MASSES = {"H": 1.008, "C": 12.011, "N": 14.007, "O": 15.999, "Na": 22.99, "Cl": 35.45,
           "S": 32.06, "Fe": 55.845, "K": 39.098, "Ca": 40.078}


def molar_mass(formula: str) -> float:
    """Molar mass of a chemical formula such as H2O or C6H12O6, in g/mol.

    Args:
        formula: the formula, elements with optional counts (no brackets).

    Returns:
        The molar mass in g/mol, rounded to 4 decimals.

    Raises:
        ValueError: for an empty or malformed formula, an unknown element, or an atom
            count over a billion.
    """
    parts = re.findall(r"([A-Z][a-z]?)([0-9]*)", formula)
    if not formula or "".join(e + n for e, n in parts) != formula:
        raise ValueError(f"malformed formula {formula!r}")
    counts = {}
    for element, count in parts:
        if len(count) > 9:
            raise ValueError("atom count too large")
        counts[element] = counts.get(element, 0) + (int(count) if count else 1)
    total = 0.0
    for element, count in counts.items():
        if element not in _MASSES:
            raise ValueError(f"unknown element {element}")
        total += _MASSES[element] * count
    return round(total, 4)
'''

PARSE_FORMULA = '''
import re


def parse_formula(formula: str) -> dict[str, int]:
    """Count the atoms of each element in a chemical formula such as H2O.

    Args:
        formula: the formula, elements with optional counts (no brackets).

    Returns:
        Element symbol -> number of atoms.

    Raises:
        ValueError: for an empty or malformed formula, or an atom count over a billion.
    """
    parts = re.findall(r"([A-Z][a-z]?)([0-9]*)", formula)
    if not formula or "".join(e + n for e, n in parts) != formula:
        raise ValueError(f"malformed formula {formula!r}")
    counts = {}
    for element, count in parts:
        if len(count) > 9:
            raise ValueError("atom count too large")
        counts[element] = counts.get(element, 0) + (int(count) if count else 1)
    return counts
'''

FORMULA_MASS = '''
_MASSES = {"H": 1.008, "C": 12.011, "N": 14.007, "O": 15.999, "Na": 22.99, "Cl": 35.45,
           "S": 32.06, "Fe": 55.845, "K": 39.098, "Ca": 40.078}


def formula_mass(counts: dict[str, int]) -> float:
    """Molar mass in g/mol from the number of atoms of each element.

    Args:
        counts: element symbol -> number of atoms.

    Returns:
        The molar mass in g/mol, rounded to 4 decimals.

    Raises:
        ValueError: for an unknown element, or a count that is negative or over a
            billion.
    """
    total = 0.0
    for element, count in counts.items():
        if element not in _MASSES:
            raise ValueError(f"unknown element {element}")
        if count < 0 or count > 10**9:
            raise ValueError(f"bad count {count}")
        total += _MASSES[element] * count
    return round(total, 4)
'''

IDEAL_GAS_PRESSURE = '''
import math


def ideal_gas_pressure(n_mol: float, temperature_k: float, volume_m3: float) -> float:
    """Pressure of an ideal gas, P = nRT / V, in pascal.

    Args:
        n_mol: amount of gas in moles.
        temperature_k: absolute temperature in kelvin.
        volume_m3: volume in cubic metres.

    Returns:
        The pressure in pascal.

    Raises:
        ValueError: for a non-positive volume, a negative amount or temperature, or a
            pressure too large to represent.
    """
    if volume_m3 <= 0 or n_mol < 0 or temperature_k < 0:
        raise ValueError("volume must be positive; amount and temperature non-negative")
    pressure = n_mol * 8.314462618 * temperature_k / volume_m3
    if not math.isfinite(pressure):
        raise ValueError("pressure too large")
    return pressure
'''

NRT_PRODUCT = '''
import math


def nrt_product(n_mol: float, temperature_k: float) -> float:
    """The product n·R·T of an amount of gas and its temperature, in joules.

    Args:
        n_mol: amount of gas in moles.
        temperature_k: absolute temperature in kelvin.

    Returns:
        n * R * T with R = 8.314462618 J/(mol K).

    Raises:
        ValueError: for a negative amount or temperature, or a product too large.
    """
    if n_mol < 0 or temperature_k < 0:
        raise ValueError("amount and temperature must be non-negative")
    product = n_mol * 8.314462618 * temperature_k
    if not math.isfinite(product):
        raise ValueError("product too large")
    return product
'''

DIVIDE = '''
import math


def divide(numerator: float, denominator: float) -> float:
    """Divide one number by another.

    Args:
        numerator: the number to divide.
        denominator: the number to divide by.

    Returns:
        numerator / denominator.

    Raises:
        ValueError: for a zero denominator or a quotient too large.
    """
    if denominator == 0:
        raise ValueError("division by zero")
    quotient = numerator / denominator
    if not math.isfinite(quotient):
        raise ValueError("quotient too large")
    return quotient
'''

TESTS = {
    "celsius_to_kelvin": '''
import pytest
from tool import celsius_to_kelvin


def test_freezing_point():
    assert celsius_to_kelvin(0.0) == pytest.approx(273.15)


def test_boiling_point():
    assert celsius_to_kelvin(100.0) == pytest.approx(373.15)


def test_below_absolute_zero():
    with pytest.raises(ValueError):
        celsius_to_kelvin(-300.0)
''',
    "absolute_temperature": '''
import pytest
from tool import absolute_temperature


def test_body_temperature():
    assert absolute_temperature(37.0) == pytest.approx(310.15)


def test_too_cold():
    with pytest.raises(ValueError):
        absolute_temperature(-500.0)
''',
    "km_to_miles": '''
import pytest
from tool import km_to_miles


def test_marathon():
    assert km_to_miles(42.195) == pytest.approx(26.2188, rel=1e-4)


def test_zero():
    assert km_to_miles(0.0) == 0.0
''',
    "molar_mass": '''
import pytest
from tool import molar_mass


def test_water():
    assert molar_mass("H2O") == pytest.approx(18.015, abs=1e-3)


def test_glucose():
    assert molar_mass("C6H12O6") == pytest.approx(180.156, abs=1e-3)


def test_malformed():
    with pytest.raises(ValueError):
        molar_mass("h2o")
''',
    "parse_formula": '''
import pytest
from tool import parse_formula


def test_water():
    assert parse_formula("H2O") == {"H": 2, "O": 1}


def test_repeated_element():
    assert parse_formula("CH3OH") == {"C": 1, "H": 4, "O": 1}


def test_malformed():
    with pytest.raises(ValueError):
        parse_formula("")
''',
    "formula_mass": '''
import pytest
from tool import formula_mass


def test_water():
    assert formula_mass({"H": 2, "O": 1}) == pytest.approx(18.015, abs=1e-3)


def test_unknown_element():
    with pytest.raises(ValueError):
        formula_mass({"Xx": 1})
''',
    "nrt_product": '''
import pytest
from tool import nrt_product


def test_one_mole_at_300_k():
    assert nrt_product(1.0, 300.0) == pytest.approx(2494.34, rel=1e-4)


def test_negative():
    with pytest.raises(ValueError):
        nrt_product(-1.0, 300.0)
''',
    "divide": '''
import pytest
from tool import divide


def test_half():
    assert divide(1.0, 2.0) == 0.5


def test_by_zero():
    with pytest.raises(ValueError):
        divide(1.0, 0.0)
''',
    "ideal_gas_pressure": '''
import pytest
from tool import ideal_gas_pressure


def test_one_mole_at_stp():
    assert ideal_gas_pressure(1.0, 273.15, 0.022414) == pytest.approx(101325, rel=1e-3)


def test_bad_volume():
    with pytest.raises(ValueError):
        ideal_gas_pressure(1.0, 300.0, 0.0)
''',
}
CODE = {
    "celsius_to_kelvin": CELSIUS_TO_KELVIN, "absolute_temperature": ABSOLUTE_TEMPERATURE,
    "km_to_miles": KM_TO_MILES, "molar_mass": MOLAR_MASS, "parse_formula": PARSE_FORMULA,
    "formula_mass": FORMULA_MASS, "ideal_gas_pressure": IDEAL_GAS_PRESSURE,
    "nrt_product": NRT_PRODUCT, "divide": DIVIDE,
}


# --- decompositions ---------------------------------------------------------------------------

def subgoal(operation: str, inputs: dict[str, Any], output: str, tool: str | None = None,
            signature: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"operation": operation, "inputs": inputs, "output": output}
    if tool:
        item["tool"] = {"name": tool, "signature": signature or ""}
    return item


C_TO_K = ("convert a temperature from degrees Celsius to kelvin", "number: temperature in K",
          "celsius_to_kelvin", "celsius_to_kelvin(celsius: float) -> float")
DECOMPOSITIONS: dict[str, list[dict[str, Any]]] = {
    # problem text fragment -> sub-goals
    "25 degrees Celsius": [subgoal(C_TO_K[0], {"celsius": 25}, *C_TO_K[1:])],
    "100 degrees Celsius": [subgoal(C_TO_K[0], {"celsius": 100}, *C_TO_K[1:])],
    "42.195 kilometres": [subgoal(
        "convert a distance from kilometres to miles", {"km": 42.195}, "number: miles",
        "km_to_miles", "km_to_miles(km: float) -> float")],
    "thermometer": [subgoal(
        "express a thermometer reading on the absolute thermodynamic scale",
        {"reading_c": 37}, "number: absolute temperature", "absolute_temperature",
        "absolute_temperature(reading_c: float) -> float")],
    "molar mass of water": [subgoal(
        "molar mass of a chemical formula", {"formula": "H2O"}, "number: g/mol",
        "molar_mass", "molar_mass(formula: str) -> float")],
    "carbon dioxide": [
        subgoal("count the atoms of each element in a chemical formula", {"formula": "CO2"},
                "object: element -> count"),
        subgoal("molar mass from the number of atoms of each element", {"atoms": "$1"},
                "number: g/mol")],
    "2 mol of an ideal gas": [subgoal(
        "pressure of an ideal gas from amount, temperature and volume",
        {"n_mol": 2, "temperature_k": 300, "volume_m3": 0.05}, "number: pressure in Pa",
        "ideal_gas_pressure",
        "ideal_gas_pressure(n_mol: float, temperature_k: float, volume_m3: float) -> float")],
    "1 mol of an ideal gas at 25": [
        subgoal(C_TO_K[0], {"celsius": 25}, *C_TO_K[1:]),
        subgoal("pressure of an ideal gas from amount, temperature and volume",
                {"n": 1, "t": "$1", "v": 0.0244}, "number: pressure in Pa")],
}

# The model binds the arguments of a retrieved tool (step text -> tool call, the values
# taken from the prompt's inputs by a regex).
EXECUTIONS: dict[str, tuple[str, str, str]] = {
    "Step: count the atoms of each element": (
        "parse_formula", '{"formula": "{{1}}"}', r'Inputs: \{"formula": "([A-Za-z0-9]+)"\}'),
    "Step: molar mass from the number of atoms": (
        "formula_mass", '{"counts": {{1}}}', r"Inputs: \{\"atoms\": (\{[^}]*\})\}"),
    "Step: pressure of an ideal gas": (
        "ideal_gas_pressure", '{"n_mol": {{1}}, "temperature_k": {{2}}, "volume_m3": {{3}}}',
        r'"n": ([0-9.]+), "t": ([0-9.]+), "v": ([0-9.]+)'),
    "Step: convert a temperature from degrees Celsius to kelvin": (
        "celsius_to_kelvin", '{"celsius": {{1}}}', r'"celsius": ([0-9.]+)'),
}

SPLITS: dict[str, Any] = {
    "molar_mass": {
        "cells": [
            {"name": "parse_formula", "description": "Count the atoms of each element.",
             "signature": "parse_formula(formula: str) -> dict[str, int]",
             "code": PARSE_FORMULA},
            {"name": "formula_mass", "description": "Molar mass from element counts.",
             "signature": "formula_mass(counts: dict[str, int]) -> float",
             "code": FORMULA_MASS},
        ],
        "composition": [
            {"cell": "parse_formula", "args": {"formula": "$input.formula"}},
            {"cell": "formula_mass", "args": {"counts": "$1"}},
        ],
    },
    # A garbage split: the composite must be kept.
    "km_to_miles": {"cells": [
        {"name": "divide", "code": "this is not python at all"},
        {"name": "Bad Name!", "code": "def x(): pass"}], "composition": "whatever"},
}


# Valid, verified cells whose composition is wrong (V / nRT instead of nRT / V): the loop
# must measure that they do not reproduce the composite, and keep it.
WRONG_GAS_SPLIT = {
    "cells": [
        {"name": "nrt_product", "description": "The product n R T.", "code": NRT_PRODUCT},
        {"name": "divide", "description": "Divide one number by another.", "code": DIVIDE},
    ],
    "composition": [
        {"cell": "nrt_product",
         "args": {"n_mol": "$input.n_mol", "temperature_k": "$input.temperature_k"}},
        {"cell": "divide", "args": {"numerator": "$input.volume_m3", "denominator": "$1"}},
    ],
}


def rules(*, garbage_decomposition: str | None = None, retry_once: str | None = None,
          wrong_gas_split: bool = False, below_absolute_zero: bool = False,
          absurd_decomposition: str | None = None) -> list[dict[str, Any]]:
    """The script's rules (first match wins)."""
    out: list[dict[str, Any]] = []
    if absurd_decomposition:
        # Well-formed JSON, absurd content: twenty sub-goals, then one that uses its own result.
        many = [subgoal(f"step number {i}", {"x": i}, "number") for i in range(20)]
        out.append({"match": {"model": "agent", "contains": [
            "[tte:decompose]", absurd_decomposition]}, "times": 1,
            "respond": {"content": json.dumps({"subgoals": many})}})
        out.append({"match": {"model": "agent", "contains": [
            "[tte:decompose]", absurd_decomposition]},
            "respond": {"content": json.dumps({"subgoals": [
                subgoal("add one to the result", {"x": "$1"}, "number")]})}})
    if below_absolute_zero:
        # A step whose retrieved tool refuses the input on every attempt (ValueError below
        # absolute zero): the model keeps calling it, then the loop must reason instead.
        out.append({"match": {"model": "agent", "contains": ["[tte:decompose]", "-300 deg"]},
                    "respond": {"content": json.dumps({"subgoals": [
                        subgoal(C_TO_K[0], {"celsius": -300}, *C_TO_K[1:])]})}})
        out.append({"match": {"model": "agent", "contains": ["[tte:execute]"],
                              "regex": r'"celsius": (-[0-9.]+)'},
                    "respond": {"tool_calls": [{"name": "celsius_to_kelvin",
                                                "arguments": '{"celsius": {{1}}}'}]}})
    if wrong_gas_split:
        out.append({"match": {"model": "synthesis",
                              "contains": ["[tte:split]", "Tool ideal_gas_pressure:"]},
                    "respond": {"content": json.dumps(WRONG_GAS_SPLIT)}})
    agent = {"model": "agent"}
    if garbage_decomposition:
        out.append({"match": {**agent, "contains": ["[tte:decompose]", garbage_decomposition]},
                    "respond": {"content": "Sure! First we boil the water, then we wait."}})
    if retry_once:
        out.append({"match": {**agent, "contains": ["[tte:decompose]", retry_once]},
                    "times": 1, "respond": {"content": '{"subgoals": []}'}})
    for fragment, subgoals in DECOMPOSITIONS.items():
        out.append({"match": {**agent, "contains": ["[tte:decompose]", fragment]},
                    "respond": {"content": json.dumps({"subgoals": subgoals})}})
    for fragment, (tool, args, regex) in EXECUTIONS.items():
        out.append({"match": {**agent, "contains": ["[tte:execute]", fragment], "regex": regex},
                    "respond": {"tool_calls": [{"name": tool, "arguments": args}]}})
    # Offered only tools that do not compute the step: the model says so.
    out.append({"match": {**agent, "contains": ["[tte:execute]"]},
                "respond": {"content": "NONE"}})
    out.append({"match": {**agent, "contains": ["[tte:fallback]"]},
                "respond": {"content": "42"}})
    # The final answer: the last step's value.
    out.append({"match": {**agent, "contains": ["[tte:answer]"],
                          "regex": r"(?s).*\] = (-?[0-9][0-9.eE+-]*)"},
                "respond": {"content": "{{1}}"}})
    out.append({"match": {**agent, "contains": ["[tte:answer]"]},
                "respond": {"content": "I do not know"}})
    for name, split in SPLITS.items():
        out.append({"match": {"model": "synthesis", "contains": ["[tte:split]", f"Tool {name}:"]},
                    "respond": {"content": json.dumps(split)}})
    out.append({"match": {"model": "synthesis", "contains": ["[tte:split]"]},
                "respond": {"content": '{"atomic": true}'}})
    for name, code in CODE.items():
        # The tool is named as asked (the loop may ask for celsius_to_kelvin_2 when the
        # name is taken): the first name in the prompt that starts with this one.
        match = {"contains": [name], "regex": rf"\b({name}\w*)"}
        out.append({"match": {"model": "synthesis", **match},
                    "respond": {"content": fenced(_named(code, name))}})
        out.append({"match": {"model": "tests", **match},
                    "respond": {"content": fenced(_named(TESTS[name], name))}})
        out.append({"match": {"model": "adversarial", **match},
                    "respond": {"content": fenced(_named(TESTS[name], name))}})
    return out


def _named(source: str, name: str) -> str:
    return source.replace(f"def {name}(", "def {{1}}(").replace(
        f"import {name}\n", "import {{1}}\n").replace(f"{name}(", "{{1}}(")


def script(**kwargs: Any) -> dict[str, Any]:
    return {"name": "tte-science", "rules": rules(**kwargs)}
