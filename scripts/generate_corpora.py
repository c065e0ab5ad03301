#!/usr/bin/env python3
"""Generate FedPilot's shipped synthetic client corpora (JSON lines under data/).

Every record is invented: names, identifiers, firms and jurisdictions come from fixed
lists in this file, numbers from a seeded generator. Nothing is read from the network or
the disk, and the output is byte-identical on every run (same seed, same files).

    python3 scripts/generate_corpora.py            # writes <repo>/data/*.jsonl
    python3 scripts/generate_corpora.py --out DIR  # writes elsewhere

Files (all JSON lines, UTF-8):

  clinical-hospital-a.jsonl   terse SOAP notes ("S: 67yo M c/o CP x2d. O: ... A: ... P: ...")
  clinical-hospital-b.jsonl   narrative discharge summaries with section headers
  aml-alerts.jsonl            a bank's anti-money-laundering alerts, site = branch region
  support-tickets.jsonl       SaaS support tickets, site = support team, with priority
  legal-clauses.jsonl         contract clauses, site = law firm (each firm drafts differently)
  support-instructions.jsonl  instruction data: classify a ticket and draft a first reply

Each text has 40-150 words (the instruction file counts input + output). Near-duplicates
are rejected: a candidate whose word-trigram set overlaps an accepted one with Jaccard
similarity above MAX_SIMILARITY is drawn again.
"""

import argparse
import json
import random
import re
import sys
from pathlib import Path

SEED = 20240611
MIN_WORDS, MAX_WORDS = 40, 150
MAX_SIMILARITY = 0.55

# ---------------------------------------------------------------------------------------
# Shared fixed lists (invented names)
# ---------------------------------------------------------------------------------------

FIRST_NAMES = [
    "Amara", "Bastian", "Chloe", "Dmitri", "Elif", "Farid", "Greta", "Hiroshi", "Ines", "Jonah",
    "Kavya", "Lorenzo", "Maren", "Nikhil", "Odile", "Pavel", "Quinn", "Rosa", "Soren", "Tamsin",
    "Umar", "Vera", "Wendell", "Ximena", "Yusuf", "Zofia", "Anouk", "Bram", "Carmen", "Dario",
    "Esme", "Felix", "Gulnara", "Hector", "Ilse", "Jasper", "Keiko", "Lucian", "Mireille", "Nadia",
]
LAST_NAMES = [
    "Abernathy", "Bellweather", "Castellanos", "Drummond", "Eriksen", "Falconer", "Gallardo",
    "Halloran", "Ibarra", "Jankowski", "Kettering", "Lindqvist", "Mbeki", "Nakashima", "Okonkwo",
    "Pellegrini", "Quarles", "Rasmussen", "Szabo", "Thornbury", "Underhill", "Valdivia", "Whitlock",
    "Yilmaz", "Zeller", "Achterberg", "Brannigan", "Coutinho", "Delacroix", "Eastwood",
]


def person(rng):
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def date(rng, year=2024):
    return f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def money(x):
    return f"${x:,.0f}"


def pick(rng, items, k_low, k_high):
    k = rng.randint(k_low, min(k_high, len(items)))
    return rng.sample(items, k)


def join_and(items):
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def fill(rng, s, memo=None):
    """Expand {a|b|c} alternatives in a template string (innermost first). With a memo dict,
    the same alternative set gets the same choice everywhere in one document (so a stroke
    stays on one side and an infarct on one wall)."""
    pattern = re.compile(r"\{([^{}]*\|[^{}]*)\}")
    while True:
        m = pattern.search(s)
        if not m:
            return s
        group = m.group(1)
        if memo is not None:
            if group not in memo:
                memo[group] = rng.choice(group.split("|"))
            choice = memo[group]
        else:
            choice = rng.choice(group.split("|"))
        s = s[:m.start()] + choice + s[m.end():]


def words(text):
    return len(text.split())


def shingles(text):
    toks = re.findall(r"[a-z0-9]+", text.lower())
    return {" ".join(toks[i:i + 3]) for i in range(len(toks) - 2)}


class Corpus:
    """Collects records, rejecting out-of-range lengths and near-duplicates."""

    def __init__(self, name, rng, target):
        self.name, self.rng, self.target = name, rng, target
        self.records, self.sigs = [], []
        self.rejected_length = self.rejected_similar = 0
        self.max_similarity = 0.0

    def offer(self, record, measured_text):
        n = words(measured_text)
        if n < MIN_WORDS or n > MAX_WORDS:
            self.rejected_length += 1
            return False
        sig = shingles(measured_text)
        best = 0.0
        for other in self.sigs:
            inter = len(sig & other)
            if inter:
                j = inter / len(sig | other)
                if j > best:
                    best = j
                    if best > MAX_SIMILARITY:
                        self.rejected_similar += 1
                        return False
        self.max_similarity = max(self.max_similarity, best)
        self.sigs.append(sig)
        self.records.append(record)
        return True

    def fill_with(self, make):
        attempts = 0
        while len(self.records) < self.target:
            attempts += 1
            if attempts > self.target * 50:
                sys.exit(f"{self.name}: could not produce {self.target} distinct records")
            record, measured = make(self.rng, len(self.records))
            self.offer(record, measured)


# ---------------------------------------------------------------------------------------
# Clinical cases shared by both hospitals; each hospital renders a case in its own style.
# Template mini-language (see expand()): {a|b|c} picks one alternative, [[lo-hi]] draws a
# number in [lo, hi] with as many decimals as lo is written with.
# ---------------------------------------------------------------------------------------

LABELS_CLINICAL = ["cardiology", "pulmonology", "endocrinology", "infectious_disease", "neurology"]

NUMBER = re.compile(r"\[\[(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)\]\]")


def expand(rng, s, memo=None):
    s = fill(rng, s, memo)

    def draw(m):
        lo, hi = m.group(1), m.group(2)
        if "." in lo:
            places = len(lo.split(".")[1])
            return f"{rng.uniform(float(lo), float(hi)):.{places}f}"
        width = len(lo) if lo.startswith("0") else 1  # "7.[[05-24]]" keeps its leading zero
        return str(rng.randint(int(lo), int(hi))).zfill(width)
    return NUMBER.sub(draw, s)


def case(**kw):
    return kw


# Hospital A fields (terse SOAP): cc, hpi, exam, labs, assess, plan, optional vitals overrides.
# Hospital B fields (narrative discharge summary): present, course, dx, meds, fu.
CLINICAL = {
    "cardiology": dict(
        ages=(38, 94),
        pmh_a=["HTN, HLD, DM2", "CAD s/p PCI to LAD 2019", "HFrEF (EF 30%)", "tobacco 40 pk-yr", "CABG x3 2016",
               "HTN, CKD3", "HLD, FHx early CAD", "AFib on apixaban"],
        pmh_b=["hypertension and hyperlipidemia", "coronary artery disease status post stent to the left anterior descending artery",
               "heart failure with reduced ejection fraction", "status post coronary artery bypass grafting",
               "type 2 diabetes and a long smoking history", "chronic kidney disease stage 3"],
        meds_a=["metoprolol 50mg BID", "lisinopril 20mg", "atorvastatin 40mg", "ASA 81mg", "carvedilol 12.5mg BID",
                "amlodipine 10mg", "furosemide 40mg daily"],
        vitals=dict(sbp=(128, 186), dbp=(70, 108), hr=(58, 118), rr=(14, 24), t=(36.4, 37.6), spo2=(92, 99)),
        cases=[
            case(cc=["CP", "substernal CP radiating to L arm", "exertional chest tightness", "jaw pain w/ exertion", "chest pressure"],
                 hpi=["Worse w/ exertion, relieved by rest.", "+diaphoresis, +nausea.", "Pain [[5-9]]/10, pressure-like.",
                      "Episode lasted ~[[10-40]] min at rest.", "No prior similar sx.", "Took NTG x[[1-3]] w/ partial relief."],
                 exam=["diaphoretic, anxious", "S1S2 nl, no m/r/g", "RRR, lungs CTAB", "no JVD, no edema"],
                 labs=["ECG: ST dep V[[3-4]]-V6", "trop 0.0[[3-9]] -> 0.[[12-90]]", "ECG: TWI I, aVL", "Cr [[0.8-1.9]]",
                       "LDL [[110-190]]"],
                 assess=["r/o ACS", "NSTEMI", "unstable angina", "chest pain, intermediate risk (HEART [[4-6]])"],
                 plan=["serial ECG", "trop q6h", "ASA 325mg", "heparin gtt", "cards consult", "atorvastatin 80mg", "TTE",
                       "tele", "lipid panel, A1c", "stress test if trop neg", "NTG SL prn"],
                 present=["two days of substernal chest pressure radiating to the left arm", "chest tightness with exertion over the past week",
                          "intermittent jaw and chest pain on exertion", "chest pain at rest with diaphoresis"],
                 stories=[(["Serial troponins were elevated and cardiac catheterization showed a {70|80|90} percent stenosis of the {right coronary|circumflex|left anterior descending} artery, which was stented without complication.",
                            "Echocardiogram showed a preserved ejection fraction."], ["Non-ST elevation myocardial infarction"]),
                          (["Troponins peaked at 0.[[20-95]] and {he|she} was treated with heparin for 48 hours.",
                            "Catheterization showed moderate nonobstructive disease, managed medically."], ["Non-ST elevation myocardial infarction", "Unstable angina"]),
                          (["Serial troponins were negative.", "A stress echocardiogram showed no inducible ischemia."],
                           ["Chest pain, acute coronary syndrome ruled out", "Noncardiac chest pain"])],
                 meds=["Aspirin 81 mg p.o. q.d.", "Clopidogrel 75 mg p.o. q.d.", "Atorvastatin 80 mg p.o. at bedtime",
                       "Metoprolol tartrate {25|50} mg p.o. b.i.d.", "Nitroglycerin 0.4 mg sublingual p.r.n. chest pain"],
                 fu=["cardiology clinic in one week", "cardiac rehabilitation referral placed", "primary care in two weeks for lipid recheck"]),
            case(cc=["crushing CP", "CP w/ diaphoresis and vomiting", "sudden severe CP"],
                 hpi=["Onset [[1-3]]h PTA while shoveling snow.", "Pain 10/10, radiating to back and L arm.", "+diaphoresis.",
                      "EMS gave ASA 324mg and NTG x2."],
                 exam=["pale, diaphoretic", "S4 present", "lungs CTAB", "cool extremities"],
                 labs=["ECG: STE II, III, aVF w/ reciprocal I, aVL", "ECG: STE V1-V4", "trop 0.[[40-99]]", "K [[3.5-4.8]]"],
                 assess=["inferior STEMI", "anterior STEMI", "STEMI"],
                 plan=["cath lab activated", "ticagrelor 180mg load", "heparin bolus", "cards at bedside", "door-to-balloon goal <90 min",
                       "hold metformin before contrast"],
                 vitals=dict(sbp=(96, 150), hr=(48, 112)),
                 present=["crushing chest pain with diaphoresis", "sudden severe chest pain radiating to the back while shoveling snow"],
                 course=["Electrocardiogram showed an {inferior|anterior} ST elevation myocardial infarction; {he|she} underwent emergent catheterization with a drug-eluting stent to the {right coronary|left anterior descending} artery, door-to-balloon time [[48-85]] minutes.",
                         "Post-infarction echocardiogram showed an ejection fraction of [[35-50]] percent with regional wall motion abnormality."],
                 dx=["ST elevation myocardial infarction, {inferior|anterior} wall"],
                 meds=["Aspirin 81 mg p.o. q.d.", "Ticagrelor 90 mg p.o. b.i.d.", "Atorvastatin 80 mg p.o. q.h.s.",
                       "Metoprolol succinate [[25-50]] mg p.o. q.d.", "Lisinopril {2.5|5} mg p.o. q.d."],
                 fu=["cardiology clinic in one week", "cardiac rehabilitation referral placed"]),
            case(cc=["DOE", "BLE edema", "orthopnea", "PND", "SOB, leg swelling"],
                 hpi=["[[2-4]]-pillow orthopnea.", "Wt up [[2-6]] kg in 1wk.", "Non-adherent w/ low-Na diet.",
                      "Ran out of furosemide 1wk ago.", "Can walk only half a block."],
                 exam=["JVD to angle of jaw, bibasilar crackles", "[[1-3]]+ pitting edema BLE", "S3 present", "JVP [[10-16]] cm"],
                 labs=["BNP [[600-2400]]", "CXR: pulm vascular congestion, small bilat effusions", "Cr [[1.1-2.4]]", "Na [[128-136]]"],
                 assess=["ADHF exacerbation", "acute on chronic HFrEF", "volume overload 2/2 diet nonadherence"],
                 plan=["furosemide [[40-80]]mg IV BID", "strict I/Os, daily wts", "fluid restrict 1.5L", "TTE", "BMP in AM",
                       "2g Na diet", "hold amlodipine", "HF education"],
                 vitals=dict(spo2=(88, 96), rr=(18, 26)),
                 present=["progressive shortness of breath and leg swelling", "orthopnea and a weight gain of several kilograms",
                          "dyspnea on minimal exertion after running out of diuretics"],
                 course=["{He|She} was diuresed with intravenous furosemide with net negative [[3-7]] liters and improvement in dyspnea.",
                         "Echocardiogram showed an ejection fraction of [[20-40]] percent with global hypokinesis; guideline-directed therapy was uptitrated.",
                         "Discharge weight was [[68-112]] kilograms, [[3-8]] kilograms below admission."],
                 dx=["Acute on chronic systolic heart failure", "Acute decompensated heart failure"],
                 meds=["Furosemide {20|40} mg p.o. b.i.d.", "Sacubitril-valsartan 24/26 mg p.o. b.i.d.", "Carvedilol {6.25|12.5|25} mg p.o. b.i.d.",
                       "Spironolactone 25 mg p.o. q.d.", "Empagliflozin 10 mg p.o. q.d."],
                 fu=["heart failure clinic in 7 to 10 days", "basic metabolic panel in one week", "daily weights at home; call if gain over 1 kilogram per day"]),
            case(cc=["palpitations", "lightheadedness w/ irregular HR", "racing heart"],
                 hpi=["Pt states 'heart racing'.", "Missed apixaban x[[2-5]]d.", "Onset after EtOH binge.", "Mild SOB, no CP.",
                      "Similar episode last year, self-resolved."],
                 exam=["irregularly irregular", "no JVD", "lungs CTAB", "anxious, diaphoretic"],
                 labs=["ECG: AFib w/ RVR [[120-165]]", "K [[3.1-3.6]], Mg [[1.5-1.9]]", "TSH pending", "trop neg"],
                 assess=["AFib w/ RVR", "new-onset AFib", "paroxysmal AFib, rate uncontrolled"],
                 plan=["dilt gtt for rate ctrl", "metoprolol 5mg IV", "resume apixaban", "tele", "TTE", "K/Mg repletion",
                       "CHA2DS2-VASc [[2-5]], anticoagulate"],
                 vitals=dict(hr=(118, 165), sbp=(104, 150)),
                 present=["palpitations and near-syncope", "a racing irregular heartbeat after a weekend of heavy drinking"],
                 course=["Rate control was achieved with diltiazem and later metoprolol; anticoagulation was {started|resumed}.",
                         "Telemetry showed paroxysmal atrial fibrillation without pauses; {he|she} converted to sinus rhythm spontaneously on hospital day [[2-3]]."],
                 dx=["Atrial fibrillation with rapid ventricular response", "New-onset atrial fibrillation"],
                 meds=["Apixaban 5 mg p.o. b.i.d.", "Metoprolol succinate {50|100} mg p.o. q.d.", "Diltiazem ER {120|180} mg p.o. q.d."],
                 fu=["electrophysiology in two weeks", "cardiology clinic in one month with Holter monitor"]),
            case(cc=["syncope", "near-syncope", "passed out at church"],
                 hpi=["Witnessed by spouse, no seizure activity.", "No prodrome.", "Occurred while climbing stairs.", "Brief LOC <1 min.",
                      "Recent uptitration of metoprolol."],
                 exam=["II/VI SEM at RUSB", "no orthostasis", "bradycardic, regular", "small scalp abrasion"],
                 labs=["ECG: Mobitz II AV block", "ECG: NSR, QTc [[450-490]]", "trop neg x2", "Hgb [[11.0-14.5]]"],
                 assess=["syncope, likely arrhythmic", "syncope, r/o aortic stenosis", "symptomatic bradycardia"],
                 plan=["tele", "TTE", "EP consult", "hold metoprolol", "orthostatics", "pacer pads at bedside", "fall precautions"],
                 vitals=dict(hr=(38, 64)),
                 present=["an episode of syncope while climbing stairs", "sudden loss of consciousness without warning"],
                 stories=[(["Telemetry captured second-degree atrioventricular block, Mobitz type II.", "A dual-chamber pacemaker was implanted on hospital day [[2-3]]."],
                           ["Syncope secondary to bradyarrhythmia", "Mobitz type II atrioventricular block"]),
                          (["Echocardiogram showed severe aortic stenosis with a valve area of 0.[[6-9]] square centimeters.", "Structural heart evaluation for valve replacement was arranged."],
                           ["Syncope due to severe aortic stenosis"])],
                 meds=["Aspirin 81 mg p.o. q.d.", "Atorvastatin 40 mg p.o. q.d.", "Lisinopril 5 mg p.o. q.d."],
                 fu=["device clinic in one week for wound check", "structural heart clinic in two weeks"]),
        ]),
    "pulmonology": dict(
        ages=(18, 90),
        pmh_a=["COPD on 2L home O2", "asthma, prior intubation", "OSA on CPAP", "30 pk-yr smoker", "sarcoidosis",
               "bronchiectasis", "lung adenoCA s/p lobectomy", "asthma, GERD", "obesity, BMI [[38-52]]"],
        pmh_b=["chronic obstructive pulmonary disease on home oxygen", "moderate persistent asthma", "obstructive sleep apnea",
               "a thirty pack-year smoking history", "lung cancer status post right upper lobectomy", "bronchiectasis"],
        meds_a=["tiotropium", "fluticasone/salmeterol", "albuterol prn", "montelukast 10mg", "budesonide/formoterol",
                "azithro 250mg MWF"],
        vitals=dict(sbp=(104, 150), dbp=(60, 92), hr=(84, 124), rr=(20, 32), t=(36.5, 37.9), spo2=(84, 94)),
        cases=[
            case(cc=["SOB", "worsening dyspnea", "cough w/ green sputum", "increased O2 needs"],
                 hpi=["Sputum increased in vol and purulence.", "Recent URI.", "Baseline 2L, now needing [[4-6]]L.",
                      "Last exacerbation [[2-6]] mo ago.", "Still smoking 1 ppd."],
                 exam=["diffuse exp wheezes", "prolonged exp phase", "accessory muscle use", "tripoding", "coarse rhonchi bilat"],
                 labs=["ABG 7.[[26-34]]/[[52-74]]/[[52-68]]", "CXR: hyperinflation, no infiltrate", "WBC [[9.0-15.5]]", "VBG pCO2 [[55-78]]"],
                 assess=["COPD exacerbation", "AECOPD w/ hypercapnia", "COPD exacerbation, likely viral trigger"],
                 plan=["duonebs q4h", "prednisone 40mg x5d", "azithro 500mg", "titrate O2 to SpO2 88-92%", "BiPAP prn", "sputum cx",
                       "smoking cessation counseling", "PFTs as outpt"],
                 present=["increasing dyspnea and purulent sputum", "three days of worsening breathlessness and higher oxygen needs"],
                 course=["{He|She} was treated with nebulized bronchodilators, a five-day course of prednisone and azithromycin.",
                         "{He|She} required noninvasive ventilation for {one|two} nights for hypercapnia, then was weaned to {2|3} liters nasal cannula.",
                         "Oxygen was weaned to baseline and ambulatory saturation was [[88-92]] percent."],
                 dx=["Acute exacerbation of chronic obstructive pulmonary disease", "Acute on chronic hypercapnic respiratory failure"],
                 meds=["Prednisone 40 mg p.o. q.d. for {2|3} more days", "Tiotropium 18 mcg inhaled q.d.", "Albuterol 2 puffs q.4h. p.r.n.",
                       "Azithromycin 250 mg p.o. q.d. for [[2-4]] days"],
                 fu=["pulmonary clinic in two weeks with spirometry", "pulmonary rehabilitation referral placed"]),
            case(cc=["wheezing", "chest tightness + wheeze", "SOB, can't finish sentences"],
                 hpi=["Using rescue inhaler q2h.", "Can speak in short phrases only.", "Trigger: cat exposure at friend's house.",
                      "Ran out of ICS 3wk ago.", "Sx worse at night."],
                 exam=["diffuse exp wheezes", "prolonged exp phase", "accessory muscle use", "poor air movement"],
                 labs=["peak flow [[30-60]]% predicted", "VBG pH 7.[[36-42]], pCO2 [[38-46]]", "CXR: no infiltrate"],
                 assess=["asthma exacerbation, moderate", "asthma exacerbation, severe", "status asthmaticus"],
                 plan=["albuterol/ipratropium nebs back-to-back x3", "methylpred 125mg IV", "Mg 2g IV", "step up to ICS/LABA",
                       "asthma action plan", "reassess peak flow 1h"],
                 vitals=dict(spo2=(89, 96), hr=(100, 130)),
                 present=["wheezing unresponsive to home nebulizers", "chest tightness and wheeze after an allergen exposure"],
                 course=["{He|She} received continuous albuterol, intravenous magnesium and methylprednisolone with improvement in peak flow from [[30-45]] to [[65-85]] percent predicted.",
                         "Inhaled corticosteroid therapy was stepped up and an asthma action plan was reviewed."],
                 dx=["Acute severe asthma exacerbation", "Status asthmaticus"],
                 meds=["Prednisone 40 mg p.o. q.d. for [[3-5]] more days", "Budesonide-formoterol 160/4.5 two inhalations b.i.d.",
                       "Albuterol 2 puffs q.4h. p.r.n.", "Montelukast 10 mg p.o. at bedtime"],
                 fu=["pulmonary clinic in two weeks", "allergy referral placed"]),
            case(cc=["pleuritic CP", "sudden SOB", "SOB + calf pain"],
                 hpi=["Long flight last wk.", "On OCPs.", "Recent knee surgery.", "No hx VTE.", "R calf swollen x3d."],
                 exam=["R calf tender, 3cm > L", "lungs CTAB", "tachycardic, regular"],
                 labs=["D-dimer [[0.9-3.5]]", "CTA: segmental PE RLL", "CTA: bilat subsegmental PE", "trop neg, BNP [[40-180]]",
                       "LE duplex: R popliteal DVT"],
                 assess=["acute PE, hemodynamically stable", "submassive PE r/o", "PE w/ RLE DVT"],
                 plan=["heparin gtt", "enoxaparin 1mg/kg BID", "TTE for RV strain", "transition to apixaban", "PESI score [[60-95]]"],
                 vitals=dict(hr=(102, 128), spo2=(89, 95)),
                 present=["pleuritic chest pain and tachycardia after a long flight", "sudden shortness of breath and a swollen right calf"],
                 course=["Computed tomography angiography demonstrated a segmental pulmonary embolism and enoxaparin was started, later transitioned to apixaban.",
                         "Echocardiogram showed no right ventricular strain and {he|she} remained hemodynamically stable."],
                 dx=["Acute pulmonary embolism", "Acute pulmonary embolism with right popliteal deep vein thrombosis"],
                 meds=["Apixaban 10 mg p.o. b.i.d. for 7 days, then 5 mg b.i.d.", "Acetaminophen 650 mg p.o. q.6h. p.r.n."],
                 fu=["anticoagulation clinic in one week", "hematology if unprovoked"]),
            case(cc=["DOE", "SOB, dry cough", "pleuritic CP + fever"],
                 hpi=["Gradual over [[2-4]] wk.", "Wt loss [[3-8]] kg.", "Hx breast CA.", "Orthopnea, no edema."],
                 exam=["decreased BS R base", "dullness to percussion L base", "egophony above effusion"],
                 labs=["CXR: R pleural effusion", "CXR: large L effusion", "LDH [[240-520]]", "pleural fluid pH 7.[[10-35]]"],
                 assess=["pleural effusion, etiology unclear", "parapneumonic effusion", "malignant effusion r/o"],
                 plan=["thoracentesis", "pleural fluid studies, cytology", "pulm consult", "CT chest after tap", "chest tube if pH <7.2"],
                 present=["hypoxemia on routine clinic visit", "weeks of exertional breathlessness and dry cough"],
                 stories=[(["Thoracentesis removed [[800-1600]] mL of exudative fluid; cytology is pending.", "Computed tomography after the tap showed no mass."],
                           ["Exudative pleural effusion, cytology pending"]),
                          (["Diagnostic thoracentesis showed a pH of 7.[[05-19]].", "A chest tube was placed for a complicated parapneumonic effusion and removed on hospital day [[3-5]]."],
                           ["Complicated parapneumonic pleural effusion"])],
                 meds=["Amoxicillin-clavulanate 875 mg p.o. b.i.d.", "Acetaminophen 650 mg p.o. q.6h. p.r.n.", "Albuterol 2 puffs q.4h. p.r.n."],
                 fu=["pulmonary clinic in two weeks with cytology results", "repeat chest imaging in six weeks"]),
            case(cc=["hemoptysis", "blood-streaked sputum"],
                 hpi=["~[[1-4]] tbsp blood-streaked sputum.", "40 pk-yr smoker.", "Night sweats.", "On apixaban."],
                 exam=["coarse rhonchi R upper field", "clubbing", "no respiratory distress"],
                 labs=["CT: [[2-5]] cm spiculated RUL mass", "Hgb [[10.5-13.5]]", "INR [[1.0-1.4]]", "CXR: RUL opacity"],
                 assess=["hemoptysis, mild", "RUL mass, c/f malignancy", "hemoptysis 2/2 bronchiectasis"],
                 plan=["hold apixaban", "bronchoscopy", "tranexamic acid neb", "pulm consult", "PET-CT", "type and screen"],
                 present=["cough with streaks of blood", "several days of blood-tinged sputum"],
                 course=["Bronchoscopy localized bleeding to the right upper lobe; biopsies were taken and bleeding stopped with cold saline.",
                         "Computed tomography showed a spiculated right upper lobe mass; staging was arranged as an outpatient."],
                 dx=["Hemoptysis, resolved", "Right upper lobe mass, biopsy pending"],
                 meds=["Benzonatate 100 mg p.o. t.i.d. p.r.n.", "Tiotropium 18 mcg inhaled q.d."],
                 fu=["thoracic oncology clinic in one week", "pulmonary clinic with biopsy results"]),
        ]),
    "endocrinology": dict(
        ages=(18, 88),
        pmh_a=["DM1 on insulin pump", "DM2 on metformin", "Hashimoto's", "s/p thyroidectomy", "DM2, CKD3, obesity",
               "Graves' dz", "pituitary adenoma", "HTN"],
        pmh_b=["type 1 diabetes mellitus on an insulin pump", "type 2 diabetes mellitus on metformin", "Graves' disease",
               "Hashimoto's thyroiditis", "hypertension", "chronic kidney disease"],
        meds_a=["metformin 1000mg BID", "glargine [[14-30]]u qHS", "lispro SSI", "levothyroxine {50|75|88|100|125}mcg",
                "empagliflozin 10mg", "semaglutide 1mg weekly", "lisinopril 10mg"],
        vitals=dict(sbp=(96, 150), dbp=(56, 90), hr=(76, 120), rr=(14, 22), t=(36.2, 37.6), spo2=(95, 100)),
        cases=[
            case(cc=["N/V, abd pain", "polyuria/polydipsia", "vomiting, thirst"],
                 hpi=["Missed insulin x[[1-3]]d.", "Insulin pump site failure suspected.", "Home BG readings [[300-500]]s.", "Reduced PO intake."],
                 exam=["dry mucous membranes", "Kussmaul resp", "fruity breath", "diffuse abd tenderness, no guarding"],
                 labs=["BG [[380-620]], AG [[18-30]], BHB [[3.1-7.5]]", "VBG pH 7.[[05-24]]", "K [[5.0-6.1]]", "bicarb [[6-14]]"],
                 assess=["DKA", "moderate DKA", "severe DKA"],
                 plan=["insulin gtt per DKA protocol", "IVF NS 1L bolus", "BMP q2h", "K repletion when K <5.3", "ICU", "endo consult",
                       "diabetes education"],
                 vitals=dict(hr=(104, 132), rr=(22, 30)),
                 present=["polyuria, vomiting and abdominal pain", "two days of vomiting after an insulin pump failure"],
                 course=["{He|She} was admitted to the intensive care unit in diabetic ketoacidosis and treated with an insulin infusion and fluids; the anion gap closed within [[12-24]] hours.",
                         "{He|She} was transitioned to subcutaneous insulin and pump settings were reviewed with the diabetes educator."],
                 dx=["Diabetic ketoacidosis", "Diabetic ketoacidosis precipitated by insulin pump failure"],
                 meds=["Insulin glargine [[16-28]] units subcutaneously at bedtime", "Insulin lispro per sliding scale with meals",
                       "Ondansetron 4 mg p.o. q.8h. p.r.n."],
                 fu=["endocrinology clinic in two weeks", "diabetes educator in one week"]),
            case(cc=["confusion, found down", "blurred vision, thirst", "weakness, poor PO"],
                 hpi=["Recent steroid taper.", "Polyuria waking 4-5x/night.", "Lives alone, found by neighbor.", "Drinking sugary sodas."],
                 exam=["dry mucous membranes", "lethargic, GCS [[11-14]]", "poor skin turgor"],
                 labs=["BG [[700-1100]], AG [[10-14]]", "serum osm [[320-368]]", "Na corr [[146-158]]", "Cr [[1.6-3.2]]"],
                 assess=["HHS", "hyperosmolar hyperglycemic state", "HHS w/ AKI"],
                 plan=["IVF NS 1L bolus then 250 mL/h", "insulin gtt once K >3.5", "BMP q2h", "neuro checks", "DVT ppx"],
                 present=["confusion and a blood glucose above 600", "lethargy and extreme thirst after a steroid taper"],
                 course=["Hyperosmolar state was corrected slowly over {48|72} hours with isotonic fluids and an insulin infusion.",
                         "Mental status returned to baseline and acute kidney injury resolved with hydration."],
                 dx=["Hyperosmolar hyperglycemic state", "Hyperosmolar hyperglycemic state with acute kidney injury"],
                 meds=["Insulin glargine [[14-24]] units subcutaneously at bedtime", "Metformin 500 mg p.o. b.i.d.",
                       "Insulin lispro per sliding scale with meals"],
                 fu=["endocrinology clinic in two weeks", "primary care in one week with basic metabolic panel"]),
            case(cc=["hypoglycemic episodes", "shaky, sweaty, confused", "found unresponsive by family"],
                 hpi=["Fingerstick [[28-55]] per EMS.", "Skipped dinner, took full insulin dose.", "New sulfonylurea started [[1-3]]wk ago.",
                      "Recent wt loss, same insulin dose."],
                 exam=["diaphoretic, GCS [[12-15]]", "no focal deficits", "tremulous"],
                 labs=["BG [[28-52]] on arrival", "A1c [[5.8-7.0]]%", "Cr [[1.0-2.2]]"],
                 assess=["hypoglycemia 2/2 insulin", "sulfonylurea-induced hypoglycemia", "recurrent nocturnal hypoglycemia"],
                 plan=["D50 1 amp, recheck BG 15 min", "D10 gtt", "hold glipizide", "reduce basal insulin 20%", "BG q1h overnight",
                       "CGM referral"],
                 present=["recurrent hypoglycemia at night", "unresponsiveness with a glucose of [[28-40]] found by family"],
                 stories=[(["Basal insulin was reduced by {20|25|30} percent.", "Overnight glucose remained above 100 for the rest of the stay."],
                           ["Recurrent insulin-induced hypoglycemia"]),
                          (["Glipizide was discontinued; {he|she} required a dextrose infusion for [[18-36]] hours.", "Glucose remained stable off the infusion for 24 hours."],
                           ["Sulfonylurea-induced hypoglycemia"])],
                 meds=["Insulin glargine [[10-20]] units subcutaneously at bedtime", "Glucagon 1 mg intranasal p.r.n. severe hypoglycemia",
                       "Metformin 1000 mg p.o. b.i.d."],
                 fu=["endocrinology clinic in one week", "continuous glucose monitor training scheduled"]),
            case(cc=["heat intolerance, palpitations", "fatigue, wt loss", "tremor, anxiety"],
                 hpi=["Lost [[4-12]] kg over [[1-4]] mo.", "Tremor, anxiety, loose stools.", "Eyes look 'bulgy' per wife.",
                      "Recent iodinated contrast CT."],
                 exam=["fine tremor, lid lag", "goiter, nontender, + bruit", "proptosis", "warm moist skin"],
                 labs=["TSH <0.01, FT4 [[2.8-5.6]]", "TRAb positive", "T3 [[250-480]]"],
                 assess=["thyrotoxicosis", "Graves' dz, uncontrolled", "thyroid storm r/o (BW score [[25-40]])"],
                 plan=["methimazole [[10-30]]mg daily", "propranolol 20mg TID", "endo consult", "thyroid US", "CBC, LFTs baseline",
                       "ophtho referral"],
                 vitals=dict(hr=(108, 140), t=(37.0, 38.2)),
                 present=["unintentional weight loss, tremor and palpitations", "heat intolerance and a racing heart"],
                 course=["Free T4 was markedly elevated; {he|she} was started on methimazole and propranolol with improvement in heart rate.",
                         "Thyroid ultrasound showed a diffusely enlarged hypervascular gland consistent with Graves' disease."],
                 dx=["Thyrotoxicosis due to Graves' disease", "Graves' disease with thyrotoxicosis"],
                 meds=["Methimazole {10|20} mg p.o. q.d.", "Propranolol 20 mg p.o. t.i.d."],
                 fu=["repeat thyroid function tests in four weeks", "endocrinology clinic in three weeks"]),
            case(cc=["dizziness on standing", "N/V, abd pain, weakness", "fatigue, salt craving"],
                 hpi=["Salt craving, hyperpigmentation.", "Stopped prednisone abruptly.", "On hydrocortisone, vomiting x1d.", "Recent GI illness."],
                 exam=["orthostatic", "hyperpigmented palmar creases", "dry mucous membranes", "proximal weakness"],
                 labs=["Na [[124-132]], K [[5.3-6.1]], cortisol [[1.0-3.0]]", "BG [[58-80]]", "ACTH [[180-600]]"],
                 assess=["adrenal crisis", "primary adrenal insufficiency", "adrenal crisis 2/2 missed steroids"],
                 plan=["hydrocortisone 100mg IV", "IVF NS 2L", "AM cortisol, ACTH stim", "endo consult", "sick-day rules education",
                       "medical alert bracelet"],
                 vitals=dict(sbp=(76, 102), dbp=(40, 64), hr=(98, 124)),
                 present=["dizziness, salt craving and hypotension", "vomiting and weakness after stopping prednisone"],
                 course=["Stress-dose hydrocortisone was given with rapid hemodynamic improvement.",
                         "Cosyntropin stimulation confirmed primary adrenal insufficiency; sick-day rules were taught."],
                 dx=["Adrenal crisis", "Primary adrenal insufficiency"],
                 meds=["Hydrocortisone 20 mg q.a.m. and 10 mg q.p.m.", "Fludrocortisone 0.1 mg p.o. q.d.",
                       "Hydrocortisone 100 mg IM emergency kit"],
                 fu=["endocrinology clinic in two weeks", "medical alert bracelet ordered"]),
            case(cc=["fatigue, constipation", "kidney stone, bone pain", "polyuria, confusion"],
                 hpi=["Hx nephrolithiasis x[[2-3]].", "On HCTZ.", "Mild memory issues per family."],
                 exam=["no focal deficits", "mild dehydration", "CVA tenderness L"],
                 labs=["Ca [[11.2-13.6]], PTH [[90-210]]", "vit D [[14-30]]", "Cr [[1.0-1.8]]", "phos [[1.9-2.5]]"],
                 assess=["primary hyperparathyroidism", "hypercalcemia, PTH-mediated"],
                 plan=["IVF NS", "hold HCTZ", "sestamibi scan", "DEXA", "endo surgery referral", "24h urine Ca"],
                 present=["fatigue and constipation with an elevated calcium", "kidney stones and an incidental calcium of [[12-13]]"],
                 course=["Parathyroid hormone was inappropriately high and a sestamibi scan localized a right inferior adenoma.",
                         "Calcium improved with intravenous fluids and hydrochlorothiazide was stopped."],
                 dx=["Primary hyperparathyroidism", "PTH-mediated hypercalcemia"],
                 meds=["Amlodipine 5 mg p.o. q.d. (replaces hydrochlorothiazide)", "Vitamin D3 1000 units p.o. q.d."],
                 fu=["endocrine surgery consultation", "repeat calcium in two weeks"]),
        ]),
    "infectious_disease": dict(
        ages=(18, 92),
        pmh_a=["HIV on ART (CD4 [[150-400]])", "s/p renal tx on tacrolimus", "DM2", "IVDU", "asplenia", "recurrent UTIs",
               "ESRD on HD via L AVF", "none"],
        pmh_b=["HIV on antiretroviral therapy", "a renal transplant on tacrolimus", "injection drug use",
               "recurrent urinary tract infections", "type 2 diabetes", "end-stage renal disease on hemodialysis"],
        meds_a=["bictegravir/FTC/TAF", "tacrolimus 2mg BID", "metformin", "mycophenolate", "methadone [[40-120]]mg"],
        vitals=dict(sbp=(84, 132), dbp=(46, 84), hr=(96, 128), rr=(18, 28), t=(38.1, 40.2), spo2=(92, 99)),
        cases=[
            case(cc=["fever/chills", "dysuria, flank pain", "rigors, R flank pain"],
                 hpi=["Recent abx for UTI.", "Tmax at home 39.[[0-9]].", "Dysuria x[[3-6]]d.", "Decreased PO, lightheaded."],
                 exam=["CVA tenderness R", "dry MM", "suprapubic TTP"],
                 labs=["UA +LE +nitrite, >50 WBC", "WBC [[13.0-24.0]], lactate [[2.1-4.6]]", "BCx pending", "Cr [[1.2-2.6]]"],
                 assess=["sepsis 2/2 pyelo", "pyelonephritis", "urosepsis"],
                 plan=["BCx x2", "UCx", "ceftriaxone 1g IV q24h", "30 mL/kg IVF", "repeat lactate 2h", "renal US"],
                 present=["fevers, rigors and right flank pain", "dysuria followed by high fevers and vomiting"],
                 course=["Blood cultures grew Escherichia coli sensitive to ceftriaxone; {he|she} defervesced within {48|72} hours.",
                         "Renal ultrasound showed no obstruction or abscess and {he|she} was transitioned to oral antibiotics."],
                 dx=["Sepsis secondary to acute pyelonephritis", "Acute pyelonephritis with Escherichia coli bacteremia"],
                 meds=["Cefpodoxime 200 mg p.o. b.i.d. for [[7-10]] days", "Ciprofloxacin 500 mg p.o. b.i.d. for 7 days"],
                 fu=["primary care in 5 to 7 days", "repeat urinalysis in two weeks"]),
            case(cc=["cellulitis L leg", "red painful swollen leg", "spreading redness R arm"],
                 hpi=["Cut on shin while gardening.", "Redness spreading past marked border.", "Tinea pedis noted.", "Sx x[[2-5]]d."],
                 exam=["erythema [[8-18]]x[[6-12]]cm, warm, tender", "no fluctuance", "lymphangitic streaking", "interdigital maceration"],
                 labs=["WBC [[10.5-16.0]]", "CRP [[40-180]]", "US: no abscess"],
                 assess=["cellulitis w/o abscess", "nonpurulent cellulitis", "cellulitis, failed outpt abx"],
                 plan=["cefazolin 2g IV q8h", "mark borders", "elevate limb", "treat tinea", "transition to PO when improving"],
                 vitals=dict(t=(37.6, 39.0), hr=(86, 110), sbp=(110, 150)),
                 present=["a spreading red painful area on the left leg", "redness and swelling of the right arm after a cat scratch"],
                 course=["Cellulitis improved on cefazolin and {he|she} was transitioned to oral cephalexin.",
                         "Ultrasound showed no drainable collection; erythema receded within the marked borders by day [[2-3]]."],
                 dx=["Nonpurulent cellulitis", "Cellulitis of the left lower extremity"],
                 meds=["Cephalexin 500 mg p.o. q.i.d. for {5|7} days", "Clotrimazole 1% cream b.i.d. to feet"],
                 fu=["primary care in 5 to 7 days", "wound check in three days"]),
            case(cc=["productive cough + fever", "fever, pleuritic CP", "SOB, rusty sputum"],
                 hpi=["Sick contacts at home.", "Sx x[[3-7]]d, worsening.", "Rigors last night.", "Smoker."],
                 exam=["rhonchi RLL", "bronchial BS L base", "crackles RLL"],
                 labs=["CXR: RLL consolidation", "procalcitonin [[1.2-9.8]]", "WBC [[12.0-21.0]]", "strep urine Ag +"],
                 assess=["CAP", "CAP, CURB-65 [[1-3]]", "multilobar pneumonia"],
                 plan=["ceftriaxone 1g + azithro 500mg", "BCx x2", "sputum cx", "droplet precautions", "O2 to keep SpO2 >92%"],
                 vitals=dict(spo2=(88, 95)),
                 present=["fever, productive cough and pleuritic pain", "rusty sputum and high fevers for several days"],
                 course=["Chest radiograph showed right lower lobe consolidation treated with ceftriaxone and azithromycin.",
                         "Urinary pneumococcal antigen was positive and therapy was narrowed; oxygen was weaned off by day [[2-4]]."],
                 dx=["Community-acquired pneumonia", "Pneumococcal pneumonia"],
                 meds=["Amoxicillin-clavulanate 875 mg p.o. b.i.d.", "Doxycycline 100 mg p.o. b.i.d.", "Benzonatate 100 mg p.o. t.i.d. p.r.n."],
                 fu=["primary care in one week", "repeat chest radiograph in six weeks"]),
            case(cc=["diarrhea x[[5-10]]/day", "watery diarrhea, cramps"],
                 hpi=["Finished clindamycin 1wk ago.", "Recent hospitalization.", "No blood in stool.", "On PPI."],
                 exam=["dry MM, diffuse abd TTP", "hyperactive BS", "no peritoneal signs"],
                 labs=["C diff PCR +, toxin +", "WBC [[15.0-28.0]]", "Cr [[1.3-2.5]]", "albumin [[2.4-3.2]]"],
                 assess=["C diff colitis", "severe C diff infection", "C diff, first episode"],
                 plan=["oral vanc 125mg QID", "fidaxomicin 200mg BID", "contact precautions", "stop PPI", "IVF"],
                 vitals=dict(t=(37.6, 39.0)),
                 present=["profuse watery diarrhea after antibiotics", "abdominal cramps and diarrhea after clindamycin"],
                 course=["Clostridioides difficile testing was positive and oral vancomycin was started with resolution of diarrhea.",
                         "Proton pump inhibitor was discontinued and renal function normalized with fluids."],
                 dx=["Clostridioides difficile colitis", "Severe Clostridioides difficile infection"],
                 meds=["Oral vancomycin 125 mg q.i.d. for 10 days", "Fidaxomicin 200 mg p.o. b.i.d. for 10 days"],
                 fu=["primary care in one week", "call if diarrhea recurs"]),
            case(cc=["HA, neck stiffness", "fever, photophobia, confusion"],
                 hpi=["Abrupt onset [[12-36]]h ago.", "College dorm resident.", "Vomiting x2.", "Recent sinusitis."],
                 exam=["nuchal rigidity", "+Kernig", "petechiae BLE", "GCS [[12-15]]"],
                 labs=["LP: WBC [[600-2400]] PMN-predominant", "CSF glucose [[15-35]]", "CSF Gram stain: GPDC", "CT head: no mass"],
                 assess=["r/o bacterial meningitis", "bacterial meningitis", "meningitis, aseptic vs bacterial"],
                 plan=["dexamethasone before abx", "vanc + ceftriaxone 2g q12h", "ampicillin if >50", "droplet precautions",
                       "BCx x2 before abx", "ID consult"],
                 present=["headache, fever and neck stiffness", "fever, photophobia and new confusion"],
                 stories=[(["Lumbar puncture showed a lymphocytic pleocytosis; cultures remained negative.", "Empiric antibiotics were stopped at 48 hours and {he|she} improved with supportive care."],
                           ["Aseptic meningitis", "Viral meningitis"]),
                          (["Cerebrospinal fluid grew Streptococcus pneumoniae.", "Dexamethasone was continued for four days with full neurologic recovery."],
                           ["Pneumococcal meningitis"])],
                 meds=["Ceftriaxone 2 g IV q.12h. via PICC for [[8-12]] more days", "Acetaminophen 650 mg p.o. q.6h. p.r.n."],
                 fu=["infectious disease clinic in one week", "audiology testing in one month"]),
            case(cc=["fever after dental work", "rigors, malaise", "fever, back pain"],
                 hpi=["IVDU, last use [[1-3]]d ago.", "Night sweats.", "Dental extraction 3wk ago.", "HD catheter in place."],
                 exam=["new holosystolic murmur", "track marks BUE", "splinter hemorrhages", "tunneled line site erythematous"],
                 labs=["BCx 2/2 GPC in clusters", "BCx MRSA x2", "ESR [[60-120]]", "TTE: [[6-14]]mm mitral vegetation"],
                 assess=["MRSA bacteremia, r/o endocarditis", "infective endocarditis", "line-associated bacteremia"],
                 plan=["vanc per pharmacy", "TEE", "repeat BCx q48h until neg", "ID consult", "remove line", "CT surg eval"],
                 present=["fever and a new heart murmur", "fevers and rigors during dialysis"],
                 stories=[(["Blood cultures grew methicillin-resistant Staphylococcus aureus.", "Transesophageal echocardiogram showed no vegetation and vancomycin was continued."],
                           ["MRSA bacteremia"]),
                          (["Blood cultures grew methicillin-resistant Staphylococcus aureus.", "Transesophageal echocardiogram showed a [[6-14]] millimeter mitral vegetation; cardiothoracic surgery recommended medical therapy."],
                           ["Infective endocarditis of the mitral valve", "MRSA endocarditis"])],
                 meds=["Vancomycin IV per hemodialysis protocol for {4|6} weeks", "Daptomycin [[6-8]] mg/kg IV q.24h. for 6 weeks"],
                 fu=["OPAT team will follow", "weekly CBC and creatinine while on IV antibiotics", "infectious disease clinic in one week"]),
        ]),
    "neurology": dict(
        ages=(22, 92),
        pmh_a=["prior CVA 2021", "epilepsy on levetiracetam", "migraine w/ aura", "MS (RRMS)", "AFib off AC",
               "HTN, HLD, smoker", "PFO", "TBI 2015", "none"],
        pmh_b=["a prior ischemic stroke", "epilepsy on levetiracetam", "migraine with aura", "relapsing-remitting multiple sclerosis",
               "atrial fibrillation off anticoagulation", "hypertension and tobacco use"],
        meds_a=["levetiracetam 750mg BID", "ASA 81mg", "clopidogrel 75mg", "ocrelizumab q6mo", "sumatriptan prn",
                "lamotrigine 200mg BID", "atorvastatin 80mg"],
        vitals=dict(sbp=(132, 212), dbp=(72, 118), hr=(58, 104), rr=(12, 22), t=(36.3, 37.4), spo2=(93, 100)),
        cases=[
            case(cc=["L-sided weakness", "R facial droop", "slurred speech", "trouble finding words"],
                 hpi=["LKW [[1-5]]h ago.", "Wife noted word-finding difficulty.", "Woke up with sx.", "Sx sudden, nonfluctuating."],
                 exam=["L facial droop, L arm drift", "expressive aphasia", "NIHSS [[3-18]]", "R gaze deviation", "dysarthria, R UE 3/5"],
                 labs=["CT head: no bleed", "CTA: R M1 occlusion", "MRI: DWI+ L MCA territory", "BG [[90-160]]", "INR [[1.0-1.2]]"],
                 assess=["acute ischemic stroke", "LVO stroke", "L MCA stroke"],
                 plan=["stroke code", "tPA, within window", "thrombectomy eval", "neuro checks q1h", "permissive HTN <220/120",
                       "swallow eval before PO", "MRI brain", "TTE, lipid panel, A1c"],
                 present=["sudden left-sided weakness and facial droop", "acute word-finding difficulty and right arm weakness"],
                 course=["{He|She} received intravenous alteplase [[60-150]] minutes after symptom onset with improvement of the NIH Stroke Scale from [[8-16]] to [[1-5]].",
                         "Mechanical thrombectomy achieved TICI 2b reperfusion of the {right|left} middle cerebral artery.",
                         "Speech therapy cleared {him|her} for a soft diet on hospital day [[2-4]]."],
                 dx=["Acute ischemic stroke, {right|left} middle cerebral artery territory"],
                 meds=["Aspirin 81 mg p.o. q.d.", "Atorvastatin 80 mg p.o. q.h.s.", "Apixaban 5 mg p.o. b.i.d.", "Lisinopril 10 mg p.o. q.d."],
                 fu=["stroke clinic in four weeks", "outpatient physical and speech therapy"]),
            case(cc=["numbness R hand", "transient slurred speech", "brief L arm weakness"],
                 hpi=["Resolved in [[10-50]] min.", "Prior similar episode resolved in 30 min.", "No residual deficits.", "ABCD2 [[3-5]]."],
                 exam=["nonfocal neuro exam", "NIHSS 0", "R carotid bruit"],
                 labs=["MRI: no DWI lesion", "carotid US: R ICA [[70-90]]% stenosis", "CT head: no bleed", "LDL [[120-180]]"],
                 assess=["TIA", "TIA, high risk", "symptomatic carotid stenosis"],
                 plan=["ASA + clopidogrel x21d", "atorvastatin 80mg", "vascular surg consult", "tele", "TTE w/ bubble", "BP control"],
                 present=["slurred speech that resolved in [[20-50]] minutes", "transient numbness of the right hand"],
                 course=["MRI showed no infarct; carotid ultrasound showed high-grade right internal carotid stenosis and {he|she} underwent endarterectomy.",
                         "Dual antiplatelet therapy was started for 21 days and telemetry showed no atrial fibrillation."],
                 dx=["Transient ischemic attack", "Transient ischemic attack due to carotid stenosis"],
                 meds=["Aspirin 81 mg p.o. q.d.", "Clopidogrel 75 mg p.o. q.d. for 21 days", "Atorvastatin 80 mg p.o. q.h.s."],
                 fu=["stroke clinic in four weeks", "vascular surgery in two weeks"]),
            case(cc=["worst HA of life", "thunderclap HA", "sudden HA + vomiting"],
                 hpi=["Thunderclap onset while lifting.", "Brief LOC at onset.", "FHx aneurysm.", "Peak intensity in <1 min."],
                 exam=["nuchal rigidity", "photophobia", "no focal deficits", "R CN III palsy"],
                 labs=["CT: SAH basal cisterns", "LP: xanthochromia", "CTA: AComm aneurysm [[5-9]]mm", "Hunt-Hess [[1-3]]"],
                 assess=["r/o SAH", "aneurysmal SAH", "SAH, Hunt-Hess [[1-3]]"],
                 plan=["neurosurg consult", "nimodipine 60mg q4h", "SBP <140", "neuro ICU", "seizure precautions", "TCD daily"],
                 present=["the worst headache of {his|her} life", "a thunderclap headache while lifting weights"],
                 course=["CT angiography showed an anterior communicating artery aneurysm that was coiled; nimodipine was given for 21 days.",
                         "Transcranial Doppler surveillance showed no vasospasm."],
                 dx=["Aneurysmal subarachnoid hemorrhage"],
                 meds=["Nimodipine 60 mg p.o. q.4h. to complete 21 days", "Acetaminophen 1 g p.o. q.8h. p.r.n.", "Docusate 100 mg p.o. b.i.d."],
                 fu=["neurosurgery in six weeks with angiography", "neurology in one month"]),
            case(cc=["new-onset seizure", "seizure", "GTC seizure x2"],
                 hpi=["Tongue bite, incontinence.", "Missed [[2-4]] doses of AED.", "Sleep deprived, EtOH last night.", "Lasted ~[[1-4]] min per EMS."],
                 exam=["postictal, oriented x1", "L lateral tongue laceration", "no focal deficits", "drowsy but arousable"],
                 labs=["levetiracetam level subtherapeutic", "EEG pending", "CT head: no acute process", "Na [[132-140]], BG [[90-150]]",
                       "CK [[300-1400]]"],
                 assess=["breakthrough seizure", "provoked seizure", "first unprovoked seizure"],
                 plan=["levetiracetam 1g load", "seizure precautions", "EEG", "MRI brain w/wo", "no driving per state law", "neuro consult"],
                 present=["a generalized tonic-clonic seizure", "two seizures at home after missing medication doses"],
                 stories=[(["Levetiracetam was increased and no further seizures occurred on continuous EEG.", "Adherence was reviewed with {him|her} and the family."],
                           ["Breakthrough seizure"]),
                          (["MRI of the brain was unremarkable and EEG showed {no epileptiform discharges|left temporal sharp waves}.", "Levetiracetam was started after discussion of recurrence risk."],
                           ["First unprovoked seizure"])],
                 meds=["Levetiracetam {750|1000|1500} mg p.o. b.i.d.", "Lamotrigine 100 mg p.o. b.i.d."],
                 fu=["neurology in two weeks with EEG", "no driving until cleared by neurology"]),
            case(cc=["blurry vision OS", "diplopia", "numbness both legs", "painful eye movements"],
                 hpi=["Painful eye movements x[[2-5]]d.", "Prior episode of leg numbness 2y ago.", "Sx progressive over [[2-6]]d.",
                      "Heat worsens sx."],
                 exam=["L INO", "RAPD OS", "visual acuity 20/[[80-400]] OS", "sensory level T[[6-10]]"],
                 labs=["MRI: new enhancing periventricular lesion", "MRI: enhancing L optic nerve", "LP: OCBs +"],
                 assess=["MS relapse", "optic neuritis", "demyelinating dz, new dx"],
                 plan=["methylpred 1g IV x3d", "MRI brain + C/T spine", "neuro-ophtho consult", "neuro consult", "DMT discussion"],
                 present=["painful loss of vision in the left eye", "double vision and leg numbness over several days"],
                 course=["Intravenous methylprednisolone was given for three days with partial recovery of vision.",
                         "MRI showed new enhancing demyelinating lesions and disease-modifying therapy was discussed."],
                 dx=["Multiple sclerosis relapse", "Optic neuritis"],
                 meds=["Prednisone taper starting 60 mg p.o. q.d.", "Pantoprazole 40 mg p.o. q.d. while on steroids"],
                 fu=["multiple sclerosis clinic in two weeks", "neuro-ophthalmology in one month"]),
            case(cc=["vertigo", "dizziness, gait unsteady", "room spinning"],
                 hpi=["Vertigo worse w/ head turning.", "Constant x[[1-3]]d.", "+N/V.", "Unable to walk unassisted."],
                 exam=["nystagmus, +HINTS", "direction-changing nystagmus", "truncal ataxia", "+Dix-Hallpike R"],
                 labs=["MRI: L PICA infarct", "CT head: no bleed", "MRI: no DWI lesion"],
                 assess=["posterior circ stroke vs BPPV", "L cerebellar stroke", "BPPV"],
                 plan=["MRI brain", "Epley maneuver", "meclizine prn", "PT vestibular", "neuro checks q2h", "ASA 81mg"],
                 present=["vertigo and gait instability", "room-spinning dizziness with vomiting"],
                 stories=[(["MRI showed a small left cerebellar infarct.", "Dual antiplatelet therapy was started for 21 days."], ["Cerebellar ischemic stroke"]),
                          (["MRI was negative and a Dix-Hallpike maneuver was positive.", "Symptoms resolved after canalith repositioning."],
                           ["Benign paroxysmal positional vertigo"])],
                 meds=["Aspirin 81 mg p.o. q.d.", "Clopidogrel 75 mg p.o. q.d. for 21 days", "Meclizine 25 mg p.o. q.8h. p.r.n."],
                 fu=["vestibular physical therapy", "stroke clinic in four weeks"]),
        ]),
}


def pronouns(rng, text, male):
    subs = [("{he|she}", "he" if male else "she"), ("{He|She}", "He" if male else "She"),
            ("{him|her}", "him" if male else "her"), ("{his|her}", "his" if male else "her")]
    for a, b in subs:
        text = text.replace(a, b)
    return text


def soap_note(rng, label):
    group = CLINICAL[label]
    c = rng.choice(group["cases"])
    v = dict(group["vitals"], **c.get("vitals", {}))
    male = rng.random() < 0.5
    age = rng.randint(*group["ages"])
    sex = "M" if male else "F"
    memo = {}
    ex = lambda s: expand(rng, pronouns(rng, s, male), memo)
    cc = ex(rng.choice(c["cc"]))
    dur = rng.choice(["x2d", "x3h", "x1wk", "x5d", "since this AM", "x36h", "x4d", "since last night", "x10d", "x6h", "x1h"])
    intro = rng.choice([
        f"S: {age}yo {sex} c/o {cc} {dur}.",
        f"S: {age} y/o {sex} w/ {cc} {dur}.",
        f"S: Pt is {age}{sex}, presents w/ {cc} {dur}.",
        f"S: {age}{sex} here for {cc}, onset {dur[1:]} ago." if dur.startswith("x") else f"S: {age}{sex} here for {cc} {dur}.",
    ])
    parts = [intro] + [ex(h) for h in pick(rng, c["hpi"], 1, 3)]
    if rng.random() < 0.8:
        parts.append(f"PMH: {ex(rng.choice(group['pmh_a']))}.")
    if rng.random() < 0.55:
        parts.append(f"Meds: {', '.join(ex(m) for m in pick(rng, group['meds_a'], 1, 3))}.")
    if rng.random() < 0.4:
        parts.append(f"All: {rng.choice(['NKDA', 'PCN (rash)', 'sulfa', 'NKDA', 'iodine contrast (hives)', 'codeine (N/V)'])}.")
    sbp = rng.randint(*v["sbp"])
    dbp = min(rng.randint(*v["dbp"]), sbp - 25)
    spo2 = rng.randint(*v["spo2"])
    o2 = rng.choice(["RA", "RA", f"{rng.randint(2, 4)}L NC"]) if spo2 >= 90 else rng.choice(["RA", "RA", "2L NC", "NRB"])
    vit = [f"BP {sbp}/{dbp}", f"HR {rng.randint(*v['hr'])}", f"RR {rng.randint(*v['rr'])}",
           f"{rng.choice(['T', 'Tmax', 'T'])} {rng.uniform(*v['t']):.1f}", f"SpO2 {spo2}% {o2}"]
    if rng.random() < 0.35:
        vit = [x for x in vit if not x.startswith("RR")]
    if rng.random() < 0.3:
        rng.shuffle(vit)
    sep = rng.choice([", ", ", ", " | ", "; "])
    parts.append(f"O: {sep.join(vit)}.")
    parts.append(f"{rng.choice(['', 'Exam: ', 'PE: '])}{'; '.join(ex(e) for e in pick(rng, c['exam'], 1, 2))}.")
    parts.append(f"{', '.join(ex(x) for x in pick(rng, c['labs'], 1, 3))}.")
    assess = ex(rng.choice(c["assess"]))
    if rng.random() < 0.25:
        alternatives = [ex(a) for a in c["assess"] if ex(a) != assess]
        if alternatives:
            assess = f"{assess} vs {rng.choice(alternatives)}"
    parts.append(f"A: {assess}.")
    psep = rng.choice([", ", "; "])
    parts.append("P: " + psep.join(ex(p) for p in pick(rng, c["plan"], 2, 5)) + ".")
    if rng.random() < 0.45:
        parts.append(f"Dispo: {rng.choice(['admit tele', 'admit floor', 'ICU', 'obs', 'home w/ f/u 1wk', 'admit stepdown'])}.")
    return " ".join(parts)


def discharge_summary(rng, label):
    group = CLINICAL[label]
    c = rng.choice(group["cases"])
    male = rng.random() < 0.5
    memo = {}
    ex = lambda s: expand(rng, pronouns(rng, s, male), memo)
    age = rng.randint(*group["ages"])
    sex = "man" if male else "woman"
    pro = "He" if male else "She"
    adm_day = rng.randint(1, 20)
    los = rng.randint(2, 8)
    month = rng.randint(1, 12)
    hx = [ex(h) for h in pick(rng, group["pmh_b"], 1, 2)]
    present = ex(rng.choice(c["present"]))
    hpi_open = rng.choice([
        f"The patient is a {age}-year-old {sex} with a history of {join_and(hx)} who presented with {present}.",
        f"This is a {age}-year-old {sex} with {join_and(hx)}, admitted for {present}.",
        f"{age}-year-old {sex}, past history of {join_and(hx)}, who came to the emergency department with {present}.",
        f"Patient is a {age}-year-old {sex} with {join_and(hx)} referred by {rng.choice(['the primary care physician', 'urgent care', 'the clinic'])} for {present}.",
    ])
    onset = "" if label == "neurology" else f" Symptoms began {rng.choice(['one', 'two', 'three', 'several'])} days prior to admission."
    extra = rng.choice(["", onset,
                        " The patient was hemodynamically stable on arrival.", " Medication adherence had been poor.",
                        f" {pro} denied recent travel.", " Initial vital signs were notable for tachycardia.",
                        f" {pro} lives {rng.choice(['alone', 'with a spouse', 'with family'])} and is independent at baseline."])
    course_pool, dx_pool = rng.choice(c["stories"]) if "stories" in c else (c["course"], c["dx"])
    chosen = sorted(rng.sample(range(len(course_pool)), rng.randint(1, min(2, len(course_pool)))))
    course = " ".join(ex(course_pool[j]) for j in chosen)
    if rng.random() < 0.4:
        course += " " + rng.choice(["Physical therapy cleared the patient for discharge home.",
                                    "The remainder of the stay was uncomplicated.",
                                    "Renal function remained at baseline.",
                                    f"{pro} was discharged in stable condition on hospital day {los + 1}."])
    meds = [ex(m) for m in pick(rng, c["meds"], 1, 4)]
    med_lines = "\n".join(f"{i + 1}. {m}" for i, m in enumerate(meds))
    sections = [
        "DISCHARGE SUMMARY",
        f"ADMISSION DATE: {month:02d}/{adm_day:02d}/2024    DISCHARGE DATE: {month:02d}/{adm_day + los:02d}/2024",
        f"HISTORY OF PRESENT ILLNESS: {hpi_open}{extra}",
        f"HOSPITAL COURSE: {course}",
        f"DISCHARGE DIAGNOSIS: {ex(rng.choice(dx_pool))}.",
        f"DISCHARGE MEDICATIONS:\n{med_lines}",
    ]
    if rng.random() < 0.75:
        fu = ex(rng.choice(c["fu"]))
        sections.append(f"FOLLOW-UP: {fu[0].upper()}{fu[1:]}.")
    if rng.random() < 0.3:
        sections.insert(4, f"CONDITION AT DISCHARGE: {rng.choice(['Stable', 'Good', 'Improved', 'Fair'])}.")
    return "\n".join(sections)


# ---------------------------------------------------------------------------------------
# Anti-money-laundering alerts
# ---------------------------------------------------------------------------------------

# The i-th rule of a label goes with the i-th narrative template in aml_alert().
AML_RULES = {
    "structuring": [("STRUCT-07", "Multi-branch structuring"), ("STRUCT-01", "Cash below CTR threshold"),
                    ("STRUCT-03", "Structuring")],
    "rapid_movement": [("RAPID-02", "Rapid movement of funds"), ("RAPID-08", "In-out same day"),
                       ("RAPID-05", "Pass-through account")],
    "high_risk_jurisdiction": [("HRJ-01", "High-risk jurisdiction"), ("HRJ-06", "Offshore shell nexus"),
                               ("HRJ-04", "Grey-list correspondent routing")],
    "unusual_wire": [("WIRE-06", "Unusual wire activity"), ("WIRE-09", "Round-dollar wires"),
                     ("WIRE-11", "Beneficiary mismatch")],
    "cash_intensive": [("CASH-05", "Cash volume vs peer group"), ("CASH-02", "Cash-intensive business"),
                       ("CASH-09", "Cash spike vs history")],
}
JURISDICTIONS = ["the Republic of Veloria", "the Kestrel Islands", "Sarvonia", "Port Adeline", "the Duchy of Amberlin",
                 "Tarsovan", "the Coral Sound Territories", "Nordhavn Free Zone"]
BUSINESSES = ["convenience store", "car wash", "nail salon", "restaurant", "laundromat", "used-car dealer",
              "bar and grill", "parking operator", "food truck fleet", "vape shop", "jewelry store"]
OCCUPATIONS = ["retired teacher", "graduate student", "dental hygienist", "self-employed contractor",
               "warehouse supervisor", "real-estate agent", "software consultant", "pensioner"]
PURPOSES = ["consulting fees", "family support", "loan repayment", "import of textiles", "investment",
            "purchase of machinery", "marketing services", "gift"]
BANKS = ["Meridian Trust", "Banco Solvista", "Harbor Commercial Bank", "First Alderney", "Crescent Capital Bank",
         "Union Pacifica Bank"]
COMPANIES_AML = ["Greyfield Trading Ltd", "Oakmere Holdings", "Blue Tern Logistics", "Halcyon Imports LLC",
                 "Vantor Consulting", "Redwater Ventures", "Silvan Atlas SA", "Juniper Row Partners"]
DISPOSITIONS = ["escalated to L2", "closed - no further action", "SAR filed", "RFI sent to relationship manager",
                "closed - explained by seasonal sales", "pending L1 review", "escalated to L2, account restricted",
                "closed - documented source of funds", "SAR recommended"]


def aml_alert(rng, label, site):
    k = rng.randrange(len(AML_RULES[label]))
    rule, rule_name = AML_RULES[label][k]

    def sel(options):
        return options[k]

    alert_id = f"2024-{rng.randint(100000, 999999)}"
    is_biz = label == "cash_intensive" or rng.random() < 0.35
    if is_biz:
        cust = f"{rng.choice(LAST_NAMES)} {rng.choice(['Enterprises', 'Group', 'LLC', 'Trading', 'Foods', 'Services'])}"
        ctype = rng.choice(["business", "small business", "commercial"])
    else:
        cust = person(rng)
        ctype = rng.choice(["retail", "individual", "private banking", "retail"])
    cif = rng.randint(10_000_000, 99_999_999)
    since = rng.randint(2003, 2023)
    n = rng.randint(3, 14)
    days = rng.randint(2, 21)
    if label == "structuring":
        lo = rng.randint(80, 95) * 100
        hi = rng.randint(lo // 100 + 1, 99) * 100
        total = sum(rng.randint(lo, hi) for _ in range(n))
        body = fill(rng, sel([
            f"{n} cash deposits of {money(lo)}–{money(hi)} across {rng.randint(2, 5)} branches within {days} days, total {money(total)}",
            f"{n} cash deposits just under $10,000 ({money(lo)} to {money(hi)}) over {days} days; aggregate {money(total)}; no CTR triggered",
            f"Series of {n} cash {{deposits|money order purchases}} between {money(lo)} and {money(hi)} in {days} days totalling {money(total)}",
        ]))
        notes = [f"Deposits made by {rng.randint(2, 4)} different individuals into the same account",
                 "Customer asked teller about reporting limits", "Pattern also seen in prior quarter",
                 "Funds withdrawn by ATM in other city within days", f"Cash split between savings and checking on same day",
                 "Teller referral attached", "No business purpose on file for cash activity"]
    elif label == "rapid_movement":
        inflow = rng.randint(18, 640) * 1000
        pct = rng.randint(88, 99)
        hours = rng.randint(2, 48)
        body = sel([
            f"Inbound wire of {money(inflow)} from {rng.choice(COMPANIES_AML)} followed within {hours} hours by {n} outbound transfers totalling {money(inflow * pct / 100)} ({pct}% of inflow) to {rng.randint(2, 7)} unrelated accounts",
            f"{n} incoming ACH credits totalling {money(inflow)} moved out same day via {rng.choice(['P2P payments', 'wires', 'cashier checks', 'crypto exchange transfers'])}; end-of-day balance under {money(rng.randint(50, 900))}",
            f"Account received {money(inflow)} over {days} days and sent {pct}% onward within {hours} hours of each credit; average prior balance {money(rng.randint(200, 5000))}",
        ])
        notes = ["Account opened within last 90 days", "Counterparties share a mailing address",
                 "Activity inconsistent with stated income", "Possible money-mule pattern",
                 "Login IPs from multiple countries", "Customer unreachable by phone", "Dormant account reactivated"]
    elif label == "high_risk_jurisdiction":
        total = rng.randint(25, 900) * 1000
        body = sel([
            f"{n} wires totalling {money(total)} {rng.choice(['to', 'from', 'to and from'])} counterparties in {rng.choice(JURISDICTIONS)} over {days} days. Stated purpose '{rng.choice(PURPOSES)}'",
            f"Recurring transfers ({n} in {days} days, {money(total)}) to {rng.choice(COMPANIES_AML)} registered in {rng.choice(JURISDICTIONS)}",
            f"Correspondent payment of {money(total)} routed via {rng.choice(JURISDICTIONS)} through {rng.choice(BANKS)}; originator details incomplete",
        ])
        notes = [f"Purpose inconsistent with customer profile ({rng.choice(OCCUPATIONS)})",
                 "Jurisdiction on internal high-risk list", "Beneficial owner not identified",
                 "Nested correspondent relationship suspected", "Adverse media hit on counterparty (unconfirmed)",
                 "EDD last completed 3 years ago", "Shell-company indicators: no website, registered agent address"]
    elif label == "unusual_wire":
        amt = rng.choice([rng.randint(5, 95) * 10000, rng.randint(12, 480) * 1000])
        avg = rng.randint(800, 12000)
        body = sel([
            f"Outbound wire of {money(amt)} to {person(rng)} at {rng.choice(BANKS)}; first international wire in {rng.randint(3, 19)} years of account history",
            f"{n} round-dollar wires of {money(amt)} each to {rng.choice(COMPANIES_AML)} in {days} days; customer's 12-month average outflow {money(avg)}",
            f"Wire of {money(amt)} with beneficiary name not matching account holder at {rng.choice(BANKS)}; amount {rng.randint(8, 60)}x the monthly average",
        ])
        notes = ["Beneficiary name does not match invoice reference", "Wire requested by phone, callback failed",
                 "Customer elderly; possible elder-fraud scam", "Recent change of email and phone on file",
                 "Funds sourced from a home-equity draw", "Business email compromise indicators", "Urgency expressed to branch staff"]
    else:
        cash = rng.randint(40, 480) * 1000
        pct = rng.randint(60, 410)
        biz = rng.choice(BUSINESSES)
        month = rng.choice(["January", "February", "March", "April", "May", "June", "July", "August",
                            "September", "October", "November", "December"])
        body = sel([
            f"Business customer ({biz}) deposited {money(cash)} in cash during {month}, {pct}% above peer median",
            f"Cash deposits of {money(cash)} in {days} days for a {biz}; cash-to-card ratio {rng.uniform(1.5, 9.0):.1f} vs peer {rng.uniform(0.2, 1.1):.1f}",
            f"Monthly cash volume for {biz} rose from {money(cash / rng.uniform(2.5, 6))} to {money(cash)}; {n} deposits of mostly $20 notes",
        ])
        notes = ["Seasonality does not explain the increase", "Site visit not performed in 2 years",
                 "Owner also controls two other cash businesses", "Deposits made after hours via night drop",
                 "Declared revenue on file much lower", "Card sales flat over same period", "Strapped currency with rubber bands"]
    chosen = pick(rng, notes, 1, 3)
    score = rng.randint(42, 98)
    disp = rng.choice(DISPOSITIONS)
    analyst = f"{rng.choice(FIRST_NAMES)[0]}.{rng.choice(LAST_NAMES)}"
    head = f"ALERT {alert_id} | Rule: {rule} {rule_name} | Customer: {cust} ({ctype}, CIF {cif}, since {since})"
    tail = f"Risk score: {score} | Disposition: {disp}"
    style = rng.random()
    if style < 0.5:
        text = f"{head} | {body}. {'. '.join(chosen)}. | {tail}"
    elif style < 0.8:
        text = f"{head} | Activity: {body}. | Indicators: {'; '.join(chosen)}. | Analyst {analyst}: {rng.choice(['reviewed', 'triaged', 'pulled 6 months of statements', 'checked KYC file'])}. | {tail}"
    else:
        text = f"{head} | Branch region: {site} | {body}. Red flags: {', '.join(c[0].lower() + c[1:] for c in chosen)}. | {tail}"
    return text, dict(alert_id=alert_id, rule=rule, risk_score=str(score), disposition=disp)


# ---------------------------------------------------------------------------------------
# Support tickets
# ---------------------------------------------------------------------------------------

SUPPORT_LABELS = ["billing", "outage", "access", "bug", "feature_request"]
TEAMS = ["team-emea", "team-amer", "team-apac"]
PRODUCTS = ["Orbit CRM", "Ledgerly", "Pulse Analytics", "Beacon Helpdesk", "Stackyard CI"]
PLANS = ["Starter", "Team", "Business", "Enterprise"]
CUSTOMERS = ["Northwind Foods", "Kiteline Travel", "Aspen Dental Group", "Brightpath Schools", "Corvid Robotics",
             "Helix Biolabs", "Maple & Rye Bakery", "Tidewater Logistics", "Quarry Street Media", "Lumen Solar",
             "Pinecrest Insurance", "Redfern Architects", "Solace Health", "Vireo Games", "Wavelength Audio"]
BROWSERS = ["Chrome 126 / Windows 11", "Safari 17 / macOS 14", "Firefox 127 / Ubuntu 22.04", "Edge 125 / Windows 10",
            "iOS app 5.3.1", "Android app 5.2.8", "API client (Python SDK 3.4)", "Chrome 125 / ChromeOS"]
REGIONS_CLOUD = ["eu-west-1", "us-east-2", "ap-southeast-1", "eu-central-1", "us-west-2", "ap-northeast-1"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]

def issue(subjects, body, reply):
    return dict(subjects=subjects, body=body, reply=reply)


# Each ticket describes one coherent issue: a subject, 1-3 of its body sentences, 0-2 of the
# label's generic sentences; the instruction data answers with that issue's reply.
TICKETS = {
    "billing": dict(
        extra=["Our finance team flagged this during reconciliation.", "We're on annual billing.",
               "Please fix before our next payment run.", "Account owner is cc'd.", "This is the second time this has happened."],
        issues=[
            issue(["Charged twice for {month} invoice", "Duplicate charge on card", "Double billing this month"],
                  ["Our card was charged {amount} twice on {date}.", "Both charges show the same invoice number.",
                   "Our bank statement shows two identical debits from you.", "Please refund the duplicate."],
                  "I can see the duplicate {amount} charge and have started a refund; it usually appears on the card within 5-10 business days."),
            issue(["Invoice shows {seats} seats but we have {fewer}", "Billed for removed users", "Seat count wrong on invoice"],
                  ["We removed {removed} users last month, yet the invoice still lists {seats} seats.",
                   "Only {fewer} people actually use the workspace.", "Deactivated users still seem to count as billable."],
                  "Deactivated members were still counted as billable; I've corrected the seat count and will send a credit note for the difference."),
            issue(["Need VAT ID added to invoices", "Missing VAT number on invoice", "Update company tax details"],
                  ["Finance needs the VAT number {vat} on every invoice going forward.",
                   "Our auditors rejected last quarter's invoices without it.", "Can you also reissue the last three invoices?"],
                  "I've added VAT ID {vat} to your billing profile and will reissue your recent invoices with it."),
            issue(["Card declined on annual renewal", "Renewal payment failed", "Workspace suspension warning"],
                  ["The renewal failed and we got a warning that the workspace will be suspended.",
                   "Our card was replaced by the bank last month.", "Can we pay by bank transfer instead this year?"],
                  "I've paused the suspension for 14 days so nothing is interrupted; you can update the card under Billing or pay by bank transfer."),
            issue(["Refund after downgrade to {plan}", "Still billed old rate after downgrade", "Downgrade not reflected"],
                  ["We downgraded to {plan} on {date} but were billed the old rate.", "Can you confirm whether the credit of {amount} was applied?",
                   "The plan page shows {plan}, but the invoice doesn't."],
                  "The downgrade to {plan} was applied after the invoice was generated; I've requested a prorated credit for the difference."),
            issue(["Proration looks wrong after upgrade", "Upgrade charge too high"],
                  ["The upgrade charge of {amount} seems to cover the full year, not the remaining months.",
                   "We upgraded mid-cycle on {date}.", "The proration preview showed a much lower number."],
                  "I'm checking the proration for your mid-cycle upgrade with finance and will correct the charge if it covered the full year."),
        ]),
    "outage": dict(
        extra=["This is blocking our whole team.", "We tried different networks and browsers, same result.",
               "Your status page still says all systems operational.", "Request IDs: req_{hex} and req_{hex2}.",
               "Please treat as urgent."],
        issues=[
            issue(["Dashboard returns 502 since {time} UTC", "502 errors on every page", "Web app down"],
                  ["Since around {time} UTC every request to the dashboard returns 502 Bad Gateway.",
                   "All {seats} of our users are affected, across offices.", "The API also fails intermittently."],
                  "We've confirmed elevated 502 errors starting around {time} UTC and opened an incident; updates will follow on the status page every 30 minutes."),
            issue(["API timeouts in {region}", "Requests hanging in {region}", "High latency from {region}"],
                  ["About {pct}% of API calls from {region} time out after 30 seconds.", "Our retries are making it worse.",
                   "Calls from other regions look fine."],
                  "Engineering is investigating degraded API latency in {region}; I've attached your request IDs to the incident."),
            issue(["Webhooks not delivered for {hours} hours", "No webhook events since {time} UTC"],
                  ["No webhook deliveries since {time} UTC; our integration queue is backing up.",
                   "The endpoint is up and returns 200 for test calls.", "We depend on these for order processing."],
                  "Webhook delivery is delayed on our side; events are queued and will be replayed once the incident is resolved, so nothing should be lost."),
            issue(["Sync stuck, jobs queued", "Background jobs not running", "Imports stuck at 0%"],
                  ["Background sync jobs have been queued for {hours} hours.", "Nothing has moved since {time} UTC.",
                   "This is blocking our month-end close."],
                  "We've identified a backlog in our job workers and are scaling them up; your queued jobs will run automatically."),
            issue(["Login page blank for all users", "App won't load at all", "Everyone sees a blank screen"],
                  ["The login page is blank for everyone at {customer}.", "The browser console shows a failed script load.",
                   "Started around {time} UTC."],
                  "A faulty frontend release caused blank pages; we're rolling it back now and expect recovery within the hour."),
        ]),
    "access": dict(
        extra=["Our security team needs this resolved today.", "We use Okta for SSO.", "I'm the workspace admin.",
               "This affects {attempts} people so far.", "Nothing changed on our IdP side."],
        issues=[
            issue(["SSO login loop after password reset", "Redirect loop on SSO", "Stuck between IdP and app"],
                  ["After resetting her password, {name} is redirected back to the IdP login in a loop.",
                   "Clearing cookies didn't help.", "Other users can log in normally."],
                  "I've cleared the stale SSO session for {name}; please try again in a private window and tell me if the loop persists."),
            issue(["MFA codes rejected", "Two-factor codes not accepted", "Can't pass MFA"],
                  ["Authenticator codes are rejected even though the phone clock is correct.",
                   "{name} got a new phone last week.", "Backup codes were lost."],
                  "After verifying identity with your admin, I can reset MFA for {name} so they can enroll the new device."),
            issue(["User locked out after {attempts} attempts", "Account locked", "Locked out of workspace"],
                  ["{name} entered a wrong password {attempts} times and is now locked out.",
                   "The lockout message says to contact an administrator.", "{name} has a client demo this afternoon."],
                  "I've cleared the lockout for {name}; they can sign in again or use 'Forgot password' if unsure of it."),
            issue(["SCIM provisioning not creating users", "New hires not provisioned", "SCIM sync failing"],
                  ["New hires added in our IdP are not appearing in the workspace.", "The SCIM log shows 401 errors since {date}.",
                   "Deprovisioning also seems stuck."],
                  "The 401s suggest the SCIM token expired; please generate a new one under Settings > Security and paste it into your IdP."),
            issue(["Lost admin rights after role change", "Admin console missing", "Can't manage users anymore"],
                  ["Since the role change on {date}, I no longer see the admin console.", "I was the only admin.",
                   "We can't add or remove anyone now."],
                  "Since you were the only admin, I'll restore the Admin role after confirming with your account owner by email."),
            issue(["Okta SAML assertion error", "SAML audience mismatch", "SSO broken after certificate rotation"],
                  ["The SAML response shows 'audience mismatch' in the browser console.", "We rotated the signing certificate on {date}.",
                   "Password login still works for admins."],
                  "The audience or certificate in your SAML settings no longer matches; please upload the new certificate and check the Entity ID."),
        ]),
    "bug": dict(
        extra=["It worked fine in the previous version.", "Screenshot and HAR file attached.", "Happens every time.",
               "Not urgent, but annoying.", "Several colleagues see the same thing."],
        issues=[
            issue(["CSV export drops rows with accented names", "Export missing rows", "Unicode rows lost in export"],
                  ["Exporting {rows} rows produces only {fewer_rows}; rows with names like 'Zoë' or 'Müller' are missing.",
                   "Excel and Numbers show the same count.", "The on-screen list has all the rows."],
                  "I reproduced the export dropping rows with non-ASCII names and filed it with engineering; the JSON export is a workaround meanwhile."),
            issue(["Report timezone off by one hour since DST", "Scheduled report times wrong", "Timestamps shifted an hour"],
                  ["All timestamps in scheduled reports are one hour early since the clocks changed.", "Our workspace timezone is set correctly.",
                   "The dashboard itself shows the right time."],
                  "This is a known daylight-saving bug in scheduled reports; a fix is in testing and I'll confirm when it ships."),
            issue(["Search returns deleted items", "Deleted records still searchable"],
                  ["Items we deleted on {date} still appear in search results.", "Clicking them gives a 404.",
                   "Our users are confused by the ghost results."],
                  "The search index isn't removing deleted items; I've filed a bug and asked for a reindex of your workspace."),
            issue(["Mobile app crashes on attachments over {mb} MB", "App crash when opening PDF", "iOS app closes on preview"],
                  ["Opening a {mb} MB PDF attachment crashes the app immediately.", "Steps to reproduce: open a record, add an attachment, tap preview.",
                   "Smaller files open fine."],
                  "Could you confirm the app version and send a sample file? Large PDF previews are a suspected cause and I've flagged it to the mobile team."),
            issue(["Pagination repeats items on page 2", "Duplicate rows across pages"],
                  ["Page 2 of the list repeats the last {dup} items from page 1.", "Sorting by date makes it worse.",
                   "We noticed it when the totals didn't add up."],
                  "I reproduced the repeated items when sorting by date and filed it; sorting by ID avoids it until the fix lands."),
            issue(["Duplicate contacts after import", "Import creates duplicates"],
                  ["Importing the same CSV twice created {dup} duplicate contacts.", "The 'skip existing' box was ticked.",
                   "Merging them by hand will take days."],
                  "The duplicate check ignored email case; I've reported it and can run a merge on our side once you confirm."),
        ]),
    "feature_request": dict(
        extra=["Is this on the roadmap?", "Happy to join a beta or a call with your product team.",
               "Competitors offer this and it came up in our renewal review.", "Would be a big time-saver for us.",
               "Any workaround in the meantime?"],
        issues=[
            issue(["Request: bulk edit for tags", "Bulk tagging", "Edit tags on many records"],
                  ["We tag about {rows} records a week and editing them one by one is slow.", "Selecting many and applying a tag would be ideal."],
                  "Bulk tag editing isn't available yet; I've added your use case to the existing request."),
            issue(["Dark mode for the web app", "Dark theme please"],
                  ["Several of our agents work night shifts and asked for a dark theme.", "The mobile app already has one."],
                  "Dark mode for the web app is on our list; I've logged your team's vote and will update you if it's scheduled."),
            issue(["Export audit log to S3", "Audit log streaming", "Ship audit events to our bucket"],
                  ["Our compliance team wants the audit log shipped to our own S3 bucket daily.", "Manual CSV downloads don't scale."],
                  "Automatic audit-log export isn't supported yet; the audit API can be scripted meanwhile, and I've passed the request to product."),
            issue(["Custom fields in the public API", "API support for custom fields"],
                  ["We would like to read and write custom fields through the API.", "Right now we have to use the UI for those fields."],
                  "Custom field support in the API is planned; I've linked your ticket so you hear about the beta."),
            issue(["Slack notifications per project", "Per-project Slack channels"],
                  ["It would help if each project could post to its own Slack channel.", "Today everything goes to one channel."],
                  "Per-project Slack routing isn't available yet; I've shared your request with the integrations team."),
            issue(["Granular roles for contractors", "Restricted role for external users"],
                  ["Contractors should see only the projects they are assigned to.", "Today we have to make them full members."],
                  "A project-scoped guest role is on the roadmap; I've added your vote and noted the security need."),
        ]),
}
PRIORITY_WEIGHTS = {
    "billing": [0.05, 0.3, 0.45, 0.2], "outage": [0.55, 0.35, 0.1, 0.0], "access": [0.15, 0.45, 0.3, 0.1],
    "bug": [0.05, 0.35, 0.45, 0.15], "feature_request": [0.0, 0.05, 0.35, 0.6],
}
# Each team sees a different mix of ticket types (natural non-IID partition).
TEAM_LABEL_WEIGHTS = {
    "team-emea": [0.32, 0.12, 0.24, 0.18, 0.14],
    "team-amer": [0.14, 0.30, 0.16, 0.26, 0.14],
    "team-apac": [0.16, 0.16, 0.20, 0.14, 0.34],
}


def ticket_slots(rng, customer):
    seats = rng.randint(12, 400)
    rows = rng.randint(500, 20000)
    return dict(month=rng.choice(MONTHS), seats=seats, fewer=seats - rng.randint(3, 10), plan=rng.choice(PLANS[:3]),
                amount=money(rng.randint(49, 9800)), date=date(rng), vat=f"{rng.choice(['DE', 'FR', 'NL', 'IE', 'SE'])}{rng.randint(100000000, 999999999)}",
                removed=rng.randint(2, 40), time=f"{rng.randint(0, 23):02d}:{rng.choice(['05', '15', '20', '40', '50'])}",
                region=rng.choice(REGIONS_CLOUD), hours=rng.randint(2, 30), pct=rng.randint(10, 90),
                hex=f"{rng.getrandbits(40):010x}", hex2=f"{rng.getrandbits(40):010x}", attempts=rng.randint(3, 10),
                name=rng.choice(FIRST_NAMES), mb=rng.randint(8, 60), rows=rows, fewer_rows=rows - rng.randint(3, 300),
                dup=rng.randint(3, 40), customer=customer)


def support_ticket(rng, label, team, with_triage=True):
    d = TICKETS[label]
    it = rng.choice(d["issues"])
    customer = rng.choice(CUSTOMERS)
    slots = ticket_slots(rng, customer)
    priority = rng.choices(["P1", "P2", "P3", "P4"], weights=PRIORITY_WEIGHTS[label])[0]
    tid = rng.randint(10000, 99999)
    product = rng.choice(PRODUCTS)
    requester = person(rng)
    plan = rng.choice(PLANS)
    subject = rng.choice(it["subjects"]).format(**slots)
    sentences = [it["body"][0]] + pick(rng, it["body"][1:], 0, 2) if rng.random() < 0.6 else pick(rng, it["body"], 1, 3)
    sentences += pick(rng, d["extra"], 0, 2)
    body = " ".join(s.format(**slots) for s in sentences)
    greeting = rng.choice(["", "", "Hi team,", "Hello,", "Hi support,", "Good morning,", "Hey,"])
    closing = rng.choice(["", "", "Thanks.", "Thanks in advance.", f"Regards, {requester.split()[0]}", "Please advise.",
                          "Cheers", f"-- {requester.split()[0]}"])
    lines = [f"Ticket #{tid} [{priority}] Subject: {subject}",
             f"From: {requester} ({customer}, {plan} plan) via {rng.choice(['email', 'chat', 'portal', 'phone'])} | Product: {product}"]
    lines += [x for x in (greeting, body, closing) if x]
    if rng.random() < 0.5:
        lines.append(f"Environment: {rng.choice(BROWSERS)}")
    if rng.random() < 0.2:
        lines.append(f"Internal note: {rng.choice(['linked to', 'possible dup of', 'see also'])} {rng.choice(['INC', 'BUG', 'FR', 'BILL'])}-{rng.randint(1000, 9999)}")
    if with_triage:
        lines.append(f"Triage: {label}")
    meta = dict(ticket_id=str(tid), priority=priority, product=product, customer=customer, requester=requester,
                reply=it["reply"].format(**slots))
    return "\n".join(lines), meta


OPENERS = ["Hi {first}, thanks for reaching out.", "Hi {first},", "Thanks for the report, {first}.", "Hello {first}, thanks for the details.",
           "Hi {first}, sorry for the trouble.", "Thanks {first}."]
NEXT_STEPS = ["No action needed from you right now.", "Reply here if anything changes.", "I'll follow up by end of day.",
              "The ticket stays open until you confirm.", "", "I'll update this ticket as soon as I hear back."]


def support_instruction(rng, label, team):
    ticket, meta = support_ticket(rng, label, team, with_triage=False)
    first = meta["requester"].split()[0]
    opener = rng.choice(OPENERS).format(first=first)
    step = rng.choice(NEXT_STEPS)
    reply = " ".join(x for x in (opener, meta["reply"], step) if x)
    output = f"Triage: {label} | Priority: {meta['priority']}\nReply: {reply}"
    return ticket, output, meta


# ---------------------------------------------------------------------------------------
# Legal clauses: four firms, each with its own drafting conventions
# ---------------------------------------------------------------------------------------

LEGAL_LABELS = ["indemnification", "limitation_of_liability", "confidentiality", "termination", "governing_law"]
FIRMS = {
    "Hartwell Osei LLP": dict(ref="Section {a}.{b}", parties=("Supplier", "Customer"), shall="shall", caps=True),
    "Brandt & Kessler": dict(ref="Clause {a}", parties=("Provider", "Client"), shall="will", caps=False),
    "Marlow Vance Partners": dict(ref="Art. {a}.{b}", parties=("Licensor", "Licensee"), shall="shall", caps=True),
    "Ito Rahman LLP": dict(ref="§ {a}({c})", parties=("Vendor", "Company"), shall="must", caps=False),
}
CONTRACTS = ["Master Services Agreement", "SaaS Subscription Agreement", "Mutual NDA", "Supply Agreement",
             "Software License Agreement", "Data Processing Addendum", "Consulting Agreement"]
GOVERNING = [("the State of New York", "New York County, New York"), ("the State of Delaware", "Wilmington, Delaware"),
             ("England and Wales", "London"), ("the State of California", "San Francisco, California"),
             ("Ontario and the federal laws of Canada applicable therein", "Toronto, Ontario"),
             ("Singapore", "Singapore"), ("Ireland", "Dublin"), ("the State of Texas", "Austin, Texas")]
NUM_WORDS = {5: "five", 10: "ten", 15: "fifteen", 30: "thirty", 45: "forty-five", 60: "sixty", 90: "ninety",
             12: "twelve", 24: "twenty-four", 2: "two", 3: "three", 1: "one", 7: "seven"}


def numbered(n, words_style):
    return f"{NUM_WORDS[n]} ({n})" if words_style else str(n)


def legal_clause(rng, label, firm):
    f = FIRMS[firm]
    a, b = f["parties"]
    if rng.random() < 0.5:
        a, b = b, a
    sh = f["shall"]
    wn = f["caps"]  # the formal firms spell numbers out: "thirty (30) days"
    ref = f["ref"].format(a=rng.randint(3, 19), b=rng.randint(1, 9), c=rng.choice("abcdef"))
    contract = rng.choice(CONTRACTS)
    agreement = rng.choice([f"this {contract}", "this Agreement", "the Agreement"])
    title = {"indemnification": ["Indemnification", "Indemnity", "Third-Party Claims", "Mutual Indemnities"],
             "limitation_of_liability": ["Limitation of Liability", "Liability Cap", "Exclusion of Damages", "Limitations"],
             "confidentiality": ["Confidentiality", "Confidential Information", "Non-Disclosure", "Protection of Information"],
             "termination": ["Termination", "Term and Termination", "Termination Rights", "Suspension and Termination"],
             "governing_law": ["Governing Law", "Governing Law and Jurisdiction", "Disputes", "Applicable Law; Venue"]}[label]
    head = f"{ref} {rng.choice(title)}."
    days = lambda options: numbered(rng.choice(options), wn)
    if label == "indemnification":
        triggers = pick(rng, [f"any breach of {a}'s representations or warranties",
                              f"the gross negligence or willful misconduct of {a} or its personnel",
                              f"any claim that the {rng.choice(['Services', 'Deliverables', 'Software', 'Products'])} infringe a third party's intellectual property rights",
                              f"{a}'s violation of applicable law", "bodily injury, death or damage to tangible property",
                              f"{a}'s breach of its data protection obligations", f"any act or omission of {a}'s subcontractors",
                              "any taxes for which it is responsible"], 2, 4)
        items = "; ".join(f"({chr(97 + i)}) {t}" for i, t in enumerate(triggers))
        verb = rng.choice(['indemnify, defend and hold harmless', 'defend, indemnify and hold harmless', 'indemnify and defend',
                           'defend and indemnify'])
        protected = rng.choice(['Affiliates, officers, directors and employees', 'officers, employees and agents',
                                'Affiliates and Representatives', 'successors and permitted assigns'])
        losses = rng.choice(['Losses', 'claims, damages, liabilities, costs and expenses', 'losses and reasonable attorneys’ fees',
                             'third-party claims and resulting judgments'])
        body = [rng.choice([
            f"{a} {sh} {verb} {b} and its {protected} from and against any and all {losses} arising out of or relating to {items}.",
            f"Subject to this {ref.split()[0]}, {a} {sh} {verb} {b} and its {protected} against all {losses} to the extent resulting from {items}.",
            f"{a} agrees to {verb} {b} and its {protected} from {losses} caused by {items}."])]
        body += pick(rng, [f"{b} {sh} give {a} prompt written notice of any claim, and in any event within {days([10, 15, 30])} days.",
                           f"{a} {sh} have sole control of the defense and settlement of the claim, provided that no settlement imposing liability on {b} may be entered without its prior written consent.",
                           f"{b} may participate with counsel of its own choosing at its own expense.",
                           f"{a} {sh} have no obligation for claims arising from modifications made by {b} or combinations with items not supplied by {a}.",
                           f"Failure to give timely notice relieves {a} of its obligations only to the extent it is materially prejudiced.",
                           f"If an infringement claim is made, {a} may at its option procure a license, modify the item to be non-infringing, or terminate and refund prepaid fees."], 1, 2)
    elif label == "limitation_of_liability":
        cap = rng.choice([f"the fees paid or payable by {b if rng.random() < 0.5 else a} in the {numbered(12, wn)} months preceding the event giving rise to the claim",
                          f"{money(rng.choice([250000, 500000, 1000000, 2000000, 5000000]))}",
                          f"{rng.choice(['two times (2x)', 'one and one-half times (1.5x)', 'three times (3x)'])} the annual fees under {agreement}",
                          "the amounts actually received under the applicable Order Form",
                          f"the greater of {money(rng.choice([100000, 250000, 500000]))} and the fees paid in the prior {numbered(12, wn)} months"])
        excl = rng.choice(["INDIRECT, INCIDENTAL, SPECIAL, CONSEQUENTIAL OR PUNITIVE DAMAGES, OR LOSS OF PROFITS, REVENUE OR DATA",
                           "CONSEQUENTIAL OR INDIRECT LOSSES, INCLUDING LOST PROFITS OR BUSINESS INTERRUPTION",
                           "SPECIAL, EXEMPLARY OR PUNITIVE DAMAGES, OR LOSS OF GOODWILL",
                           "LOSS OF USE, COST OF SUBSTITUTE SERVICES, OR ANY INDIRECT DAMAGES"])
        first = (f"IN NO EVENT {sh.upper()} EITHER PARTY BE LIABLE FOR ANY {excl}, {rng.choice(['EVEN IF ADVISED OF THE POSSIBILITY THEREOF', 'HOWEVER CAUSED', 'WHETHER IN CONTRACT, TORT OR OTHERWISE'])}."
                 if f["caps"] else f"Neither party {sh} be liable for any {excl.lower()}, {rng.choice(['even if advised of the possibility of such damages', 'however arising', 'whether in contract, tort (including negligence) or otherwise'])}.")
        total = rng.choice([f"Each party's total aggregate liability arising out of or related to {agreement} {sh} not exceed {cap}.",
                            f"{a}'s maximum liability under {agreement} {sh} be limited to {cap}.",
                            f"The cumulative liability of either party for all claims {sh} in no case exceed {cap}."])
        body = [first, total] if rng.random() < 0.6 else [total, first]
        carve = pick(rng, ["breach of confidentiality obligations", "indemnification obligations",
                           "gross negligence, fraud or willful misconduct", f"{b}'s payment obligations",
                           "infringement of the other party's intellectual property", "death or personal injury caused by negligence"], 2, 3)
        body.append(rng.choice([f"The foregoing limitations {sh} not apply to {join_and(carve)}.",
                                f"Nothing in this {ref.split()[0]} limits liability for {join_and(carve)}.",
                                f"These exclusions do not apply to {join_and(carve)}."]))
        if rng.random() < 0.4:
            body.append(rng.choice(["The parties agree that these limitations reflect an informed allocation of risk and form an essential basis of the bargain.",
                                    "These limitations apply even if any limited remedy fails of its essential purpose."]))
    elif label == "confidentiality":
        years = rng.choice([2, 3, 5, 7])
        purpose = rng.choice([f"performing its obligations under {agreement}", "evaluating a potential business relationship",
                              "the Permitted Purpose", "exercising its rights hereunder", "providing the Services"])
        rp, dp = rng.choice([("the Receiving Party", "the Disclosing Party"), ("the Recipient", "the Discloser"), (b, a)])
        cap = lambda s: s[0].upper() + s[1:]
        body = [rng.choice([
            f"{cap(rp)} {sh} hold all Confidential Information of {dp} in strict confidence and use it solely for {purpose}.",
            f"{cap(rp)} {sh} not use {dp}'s Confidential Information except for {purpose}, and {sh} protect it with at least reasonable care.",
            f"Each party {sh} keep the other's Confidential Information secret, using no less than the degree of care it uses for its own, and only for {purpose}.",
            f"“Confidential Information” means all non-public information disclosed by {dp}, whether oral, written or electronic; {rp} {sh} use it only for {purpose}."])]
        body.append(rng.choice([
            f"Disclosure is permitted only to {rng.choice(['Representatives', 'employees and professional advisers', 'Affiliates and subcontractors'])} with a need to know who are bound by obligations no less protective than those herein.",
            f"{cap(rp)} may share it with its {rng.choice(['employees', 'auditors and legal counsel', 'contractors'])} on a need-to-know basis and {sh} be responsible for their compliance.",
            f"{cap(rp)} {sh} not disclose it to any third party without {dp}'s prior written consent."]))
        exc = pick(rng, ["is or becomes publicly available through no fault of the recipient",
                         "was lawfully known to the recipient before disclosure", "is independently developed without use of the Confidential Information",
                         "is rightfully received from a third party without restriction"], 2, 4)
        if rng.random() < 0.7:
            intro = rng.choice(["These obligations do not apply to information that", "Confidential Information excludes information that",
                                "The restrictions above do not cover information which"])
            body.append(intro + " " + "; ".join(f"({r}) {e}" for r, e in zip(["i", "ii", "iii", "iv"], exc)) + ".")
        body += pick(rng, [f"The obligations in this {ref.split()[0]} {sh} survive for {numbered(years, wn)} years after expiry or termination.",
                           f"Upon request, {rp} {sh} return or destroy all Confidential Information within {days([10, 15, 30])} days and certify the same in writing.",
                           f"Disclosure compelled by law is permitted provided {rp} gives prompt notice, where lawful, and cooperates in seeking a protective order.",
                           "Trade secrets remain protected for as long as they qualify as trade secrets under applicable law.",
                           f"{cap(dp)} may seek injunctive relief for any actual or threatened breach without posting a bond.",
                           "No license to any intellectual property is granted by disclosure."], 1, 2)
    elif label == "termination":
        notice = rng.choice([30, 60, 90])
        cure = rng.choice([10, 15, 30, 45])
        body = []
        if rng.random() < 0.7:
            who = rng.choice(["Either party", b, a])
            body.append(rng.choice([f"{who} may terminate {agreement} for convenience upon {numbered(notice, wn)} days' prior written notice.",
                                    f"{who} may end {agreement} at any time, without cause, by giving {numbered(notice, wn)} days' written notice.",
                                    f"After the initial term, {who.lower() if who == 'Either party' else who} may terminate for convenience on {numbered(notice, wn)} days' notice."]))
        body.append(rng.choice([
            f"Either party may terminate {agreement} {rng.choice(['immediately', 'effective on written notice'])} if the other party materially breaches it and fails to cure such breach within {numbered(cure, wn)} days after receiving notice describing the breach.",
            f"If a party commits a material breach that remains uncured {numbered(cure, wn)} days after written notice, the non-breaching party may terminate {agreement}.",
            f"{b} may terminate {agreement} upon written notice if {a} fails to remedy a material breach within {numbered(cure, wn)} days."]))
        body += pick(rng, ["Either party may terminate if the other becomes insolvent, makes an assignment for the benefit of creditors, or has a receiver appointed.",
                           f"Upon termination, {b} {sh} pay all fees accrued through the effective date, and {a} {sh} make {b}'s data available for export for {days([30, 60])} days.",
                           "Sections relating to confidentiality, limitation of liability, and payment survive termination.",
                           f"Termination {sh} not relieve either party of obligations accrued prior to the effective date of termination.",
                           f"If {a} terminates for convenience, it {sh} refund any prepaid fees for the unused portion of the term.",
                           f"{a} may suspend performance while any undisputed invoice remains unpaid more than {days([15, 30])} days after its due date.",
                           "Either party may terminate on written notice if a force majeure event continues for more than ninety (90) days."], 1, 3)
    else:
        law, venue = rng.choice(GOVERNING)
        body = [rng.choice([
            f"{agreement[0].upper()}{agreement[1:]} and any dispute arising out of or in connection with it {sh} be governed by and construed in accordance with the laws of {law}, without regard to its conflict of laws principles.",
            f"The laws of {law} govern {agreement}, excluding any choice-of-law rule that would apply the law of another jurisdiction.",
            f"{agreement[0].upper()}{agreement[1:]}, and all non-contractual obligations arising from it, {sh} be governed by the laws of {law}."])]
        arbitration = rng.random() >= 0.5
        if not arbitration:
            body.append(rng.choice([f"The courts located in {venue} {sh} have exclusive jurisdiction, and each party irrevocably submits to the personal jurisdiction of such courts.",
                                    f"Each party submits to the exclusive jurisdiction of the courts of {venue} and waives any objection based on inconvenient forum."]))
        else:
            body.append(f"Any dispute {sh} be finally resolved by arbitration under the {rng.choice(['ICC Rules', 'LCIA Rules', 'AAA Commercial Rules', 'SIAC Rules', 'JAMS Comprehensive Rules'])} by {rng.choice(['one arbitrator', 'three arbitrators', 'a sole arbitrator'])} seated in {venue}, conducted in English.")
        body += pick(rng, ["The United Nations Convention on Contracts for the International Sale of Goods does not apply.",
                           "EACH PARTY WAIVES ANY RIGHT TO A JURY TRIAL." if f["caps"] else "Each party waives any right to a jury trial.",
                           "Nothing herein prevents either party from seeking injunctive relief in any court of competent jurisdiction.",
                           f"The prevailing party {sh} be entitled to recover its reasonable attorneys' fees and costs.",
                           f"Before commencing proceedings, the parties {sh} attempt in good faith to resolve the dispute through senior executives for {days([15, 30])} days."]
                         + (["Judgment on the award may be entered in any court having jurisdiction."] if arbitration else []), 1, 3)
    return f"{head} {' '.join(body)}", dict(clause_ref=ref, contract_type=contract)


# ---------------------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------------------

def weighted_label(rng, labels, weights):
    return rng.choices(labels, weights=weights)[0]


def build_hospital_a(rng, i):
    label = weighted_label(rng, LABELS_CLINICAL, [0.30, 0.18, 0.17, 0.20, 0.15])
    text = soap_note(rng, label)
    rec = dict(text=text, label=label, site="hospital-a", note_id=f"SM-{rng.randint(100000, 999999)}",
               date=date(rng), note_type="progress_note")
    return rec, text


def build_hospital_b(rng, i):
    label = weighted_label(rng, LABELS_CLINICAL, [0.16, 0.28, 0.22, 0.18, 0.16])
    text = discharge_summary(rng, label)
    rec = dict(text=text, label=label, site="hospital-b", note_id=f"DS{rng.randint(1000000, 9999999)}",
               date=date(rng), note_type="discharge_summary")
    return rec, text


AML_LABELS = ["structuring", "rapid_movement", "high_risk_jurisdiction", "unusual_wire", "cash_intensive"]
AML_SITES = ["north", "south", "east", "west"]
AML_SITE_WEIGHTS = {
    "north": [0.30, 0.20, 0.15, 0.15, 0.20], "south": [0.15, 0.30, 0.10, 0.15, 0.30],
    "east": [0.15, 0.15, 0.35, 0.25, 0.10], "west": [0.25, 0.20, 0.15, 0.30, 0.10],
}


def build_aml(rng, i):
    site = AML_SITES[i % len(AML_SITES)] if rng.random() < 0.7 else rng.choice(AML_SITES)
    label = weighted_label(rng, AML_LABELS, AML_SITE_WEIGHTS[site])
    text, meta = aml_alert(rng, label, site)
    return dict(text=text, label=label, site=site, date=date(rng), **meta), text


def build_ticket(rng, i):
    team = rng.choices(TEAMS, weights=[0.36, 0.40, 0.24])[0]
    label = weighted_label(rng, SUPPORT_LABELS, TEAM_LABEL_WEIGHTS[team])
    text, meta = support_ticket(rng, label, team)
    rec = dict(text=text, label=label, site=team, priority=meta["priority"], ticket_id=meta["ticket_id"],
               product=meta["product"])
    return rec, text


def build_legal(rng, i):
    firm = list(FIRMS)[i % len(FIRMS)] if rng.random() < 0.6 else rng.choice(list(FIRMS))
    label = LEGAL_LABELS[i % len(LEGAL_LABELS)]  # balanced; a rejected draw retries the same label
    text, meta = legal_clause(rng, label, firm)
    return dict(text=text, label=label, site=firm, **meta), text


INSTRUCTION = "Classify the support ticket and draft a first reply."


def build_instruction(rng, i):
    team = rng.choices(TEAMS, weights=[0.36, 0.40, 0.24])[0]
    label = weighted_label(rng, SUPPORT_LABELS, TEAM_LABEL_WEIGHTS[team])
    ticket, output, meta = support_instruction(rng, label, team)
    rec = dict(instruction=INSTRUCTION, input=ticket, output=output, label=label, site=team, priority=meta["priority"])
    return rec, ticket + "\n" + output


CORPORA = [
    ("clinical-hospital-a.jsonl", build_hospital_a, 420),
    ("clinical-hospital-b.jsonl", build_hospital_b, 320),
    ("aml-alerts.jsonl", build_aml, 440),
    ("support-tickets.jsonl", build_ticket, 480),
    ("legal-clauses.jsonl", build_legal, 300),
    ("support-instructions.jsonl", build_instruction, 300),
]


def main():
    default_out = Path(__file__).resolve().parent.parent / "data"
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=default_out, help=f"output directory (default {default_out})")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"{'file':30} {'examples':>8} {'bytes':>9} {'words min/mean/max':>20} {'max sim':>8}  labels | sites")
    total_bytes = 0
    for index, (name, builder, target) in enumerate(CORPORA):
        corpus = Corpus(name, random.Random(SEED + 1009 * index), target)
        corpus.fill_with(builder)
        lines = [json.dumps(r, ensure_ascii=False) for r in corpus.records]
        data = ("\n".join(lines) + "\n").encode("utf-8")
        (args.out / name).write_bytes(data)
        total_bytes += len(data)
        counts = []
        for r in corpus.records:
            measured = r["text"] if "text" in r else r["input"] + "\n" + r["output"]
            counts.append(words(measured))
        labels, sites = {}, {}
        for r in corpus.records:
            labels[r["label"]] = labels.get(r["label"], 0) + 1
            sites[r["site"]] = sites.get(r["site"], 0) + 1
        lab = " ".join(f"{k}={labels[k]}" for k in sorted(labels))
        sit = " ".join(f"{k}={sites[k]}" for k in sorted(sites))
        print(f"{name:30} {len(corpus.records):8d} {len(data):9d} {min(counts):>6}/{sum(counts) / len(counts):5.1f}/{max(counts):<6}"
              f" {corpus.max_similarity:8.2f}  {lab} | {sit}")
        print(f"{'':30} rejected: {corpus.rejected_length} length, {corpus.rejected_similar} near-duplicate")
    print(f"total {total_bytes} bytes in {args.out}")


if __name__ == "__main__":
    main()
