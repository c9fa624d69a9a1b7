"""Static reference data of the synthetic world: countries, name pools, corridors, banks.

Everything here is fictional or generic: bank names and BICs are invented, e-mail domains are the
reserved ``example`` ones. Name pools are the common names of each community; the same pools
serve normal customers and injected cases, so a name's origin never marks a case.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from finintel.synth.thresholds import DEFAULT_THRESHOLDS

# ---------------------------------------------------------------------------------------------
# Countries


@dataclass(frozen=True)
class Country:
    """What the generator needs to know about a country."""

    code: str
    currency: str  # currency of accounts and MTO sends there
    calling: str  # international calling code, no "+"
    trunk: str  # national trunk prefix written before local numbers ("0" or "")
    mobile: tuple[str, ...]  # mobile prefixes of the national significant number
    nsn_len: int  # length of a mobile national significant number
    utc_offset: int  # standard-time offset in hours (business hours of agents)
    cities: tuple[tuple[str, float], ...]
    lang: str  # street-name and text language
    postcode: str = ""  # template: n digit, a letter, other characters literal
    bban: str = ""  # IBAN BBAN template (n digit, a letter, literal digits); "" = no IBAN
    bank_span: tuple[int, int] = (0, 0)  # where the bank code sits in the BBAN


def _c(
    code: str,
    currency: str,
    calling: str,
    trunk: str,
    mobile: str,
    nsn_len: int,
    utc_offset: int,
    cities: str,
    lang: str,
    postcode: str = "",
    bban: str = "",
    bank_span: tuple[int, int] = (0, 0),
) -> Country:
    pairs = []
    for item in cities.split(";"):
        name, weight = item.rsplit(":", 1)
        pairs.append((name.strip(), float(weight)))
    return Country(
        code,
        currency,
        calling,
        trunk,
        tuple(mobile.split()),
        nsn_len,
        utc_offset,
        tuple(pairs),
        lang,
        postcode,
        bban,
        bank_span,
    )


_N = "n"
# fmt: off
COUNTRIES: dict[str, Country] = {
    c.code: c
    for c in [
        _c("DE", "EUR", "49", "0", "151 152 157 160 162 170 171 172 175 176 177 178 179", 11, 1,
           "Berlin:25;Hamburg:13;München:11;Köln:8;Frankfurt am Main:7;Stuttgart:5;Düsseldorf:5;"
           "Dortmund:4;Leipzig:4;Bremen:4;Hannover:4;Nürnberg:3",
           "de", "nnnnn", _N * 18, (0, 8)),
        _c("AT", "EUR", "43", "0", "650 660 664 676 680 699", 10, 1,
           "Wien:50;Graz:15;Linz:12;Salzburg:10;Innsbruck:8", "de", "nnnn", _N * 16, (0, 5)),
        _c("CH", "CHF", "41", "0", "76 77 78 79", 9, 1,
           "Zürich:35;Genève:25;Basel:20;Bern:10;Lausanne:10", "de", "nnnn", _N * 17, (0, 5)),
        _c("NL", "EUR", "31", "0", "6", 9, 1,
           "Amsterdam:30;Rotterdam:25;Den Haag:20;Utrecht:15;Eindhoven:10", "nl", "nnnn aa",
           "aaaa" + _N * 10, (0, 4)),
        _c("BE", "EUR", "32", "0",
           "470 471 472 473 474 475 476 477 478 479 484 485 486 487 "
           "488 489 490 491 492 493 494 495 496 497 498 499",
           9, 1, "Bruxelles:35;Antwerpen:30;Gent:15;Liège:12;Charleroi:8", "fr", "nnnn", _N * 12,
           (0, 3)),
        _c("FR", "EUR", "33", "0", "6 7", 9, 1,
           "Paris:35;Marseille:15;Lyon:15;Toulouse:10;Lille:10;Nice:8;Strasbourg:7", "fr", "nnnnn",
           _N * 23, (0, 5)),
        _c("IT", "EUR", "39", "",
           "320 324 327 328 329 330 333 334 335 338 339 340 345 347 348 349 366 388 391 392 393",
           10, 1, "Roma:25;Milano:25;Napoli:15;Torino:12;Bologna:8;Palermo:8;Firenze:7", "it",
           "nnnnn", "a" + _N * 22, (1, 6)),
        _c("ES", "EUR", "34", "",
           "600 605 606 609 610 615 616 618 619 620 622 625 626 628 629 "
           "630 635 636 637 639 645 646 649 650 655 659 660 666 676 680 686 690 696",
           9, 1, "Madrid:35;Barcelona:30;Valencia:12;Sevilla:10;Málaga:8;Murcia:5", "es", "nnnnn",
           _N * 20, (0, 4)),
        _c("SE", "SEK", "46", "0", "70 72 73 76 79", 9, 1,
           "Stockholm:45;Göteborg:25;Malmö:18;Uppsala:12", "sv", "nnn nn", _N * 20, (0, 3)),
        _c("NO", "NOK", "47", "", "40 41 45 46 47 48 90 91 92 93 94 95 97 98 99", 8, 1,
           "Oslo:50;Bergen:25;Trondheim:15;Stavanger:10", "sv", "nnnn", _N * 11, (0, 4)),
        _c("GB", "GBP", "44", "0", "74 75 77 78 79", 10, 0,
           "London:45;Birmingham:15;Manchester:13;Leeds:10;Glasgow:9;Bristol:8", "en", "an naa",
           "aaaa" + _N * 14, (0, 4)),
        _c("PL", "PLN", "48", "",
           "500 501 502 509 510 512 530 531 533 535 600 601 602 603 660 "
           "661 662 664 690 691 692 693 720 721 722 730 731 790 791 792 880 881",
           9, 1, "Warszawa:35;Kraków:20;Wrocław:15;Gdańsk:15;Poznań:15", "pl", "nn-nnn", _N * 24,
           (0, 8)),
        _c("LT", "EUR", "370", "0", "6", 8, 2, "Vilnius:50;Kaunas:30;Klaipėda:20", "lt",
           "LT-nnnnn", _N * 16, (0, 5)),
        _c("HR", "EUR", "385", "0", "91 92 95 97 98 99", 9, 1, "Zagreb:60;Split:25;Rijeka:15",
           "bs", "nnnnn", _N * 17, (0, 7)),
        _c("US", "USD", "1", "", "612 651 763 952 212 646 917 202 713 832 312 773", 10, -5,
           "New York:30;Minneapolis:20;Washington:15;Houston:15;Chicago:20", "en", "nnnnn"),
        _c("AE", "AED", "971", "0", "50 52 54 55 56 58", 9, 4, "Dubai:60;Abu Dhabi:25;Sharjah:15",
           "ar", "", "nnn" + _N * 16, (0, 3)),
        _c("SA", "SAR", "966", "0", "50 53 54 55 56 59", 9, 3, "Riyadh:45;Jeddah:40;Dammam:15",
           "ar", "nnnnn", "nn" + _N * 18, (0, 2)),
        _c("QA", "QAR", "974", "", "33 55 66 77", 8, 3, "Doha:70;Al Rayyan:20;Al Wakrah:10", "ar",
           "", "aaaa" + _N * 21, (0, 4)),
        _c("JO", "JOD", "962", "0", "77 78 79", 9, 2, "Amman:60;Irbid:20;Zarqa:12;Mafraq:8", "ar",
           "nnnnn", "aaaa" + _N * 22, (0, 4)),
        _c("TR", "TRY", "90", "0",
           "530 531 532 533 535 536 537 538 539 541 542 543 544 545 546 "
           "505 506 507 551 552 553 554 555",
           10, 3, "İstanbul:45;Ankara:15;İzmir:12;Gaziantep:10;Bursa:10;Antalya:8", "tr", "nnnnn",
           "nnnnn0" + _N * 16, (0, 5)),
        _c("RS", "EUR", "381", "0", "60 61 62 63 64 65 66 69", 9, 1,
           "Beograd:50;Novi Sad:20;Niš:15;Subotica:15", "bs", "nnnnn", _N * 18, (0, 3)),
        _c("BA", "EUR", "387", "0", "61 62 63 65 66", 8, 1,
           "Sarajevo:45;Banja Luka:25;Tuzla:15;Mostar:15", "bs", "nnnnn", _N * 16, (0, 3)),
        _c("UA", "USD", "380", "0", "50 63 66 67 68 73 93 95 96 97 98 99", 9, 2,
           "Kyiv:40;Lviv:20;Kharkiv:15;Odesa:15;Dnipro:10", "uk", "nnnnn"),
        _c("MA", "EUR", "212", "0",
           "600 601 610 611 612 615 616 618 641 642 648 650 651 652 "
           "653 654 655 658 659 661 662 664 666 667 668 670 671 672 673 676 677 678",
           9, 0, "Casablanca:30;Rabat:15;Tanger:15;Fès:15;Marrakech:15;Nador:10", "fr", "nnnnn"),
        _c("NG", "USD", "234", "0", "703 706 803 806 810 813 814 816 903 906", 10, 1,
           "Lagos:45;Abuja:20;Kano:15;Ibadan:10;Port Harcourt:10", "en"),
        _c("PK", "USD", "92", "0",
           "300 301 302 303 304 305 306 307 308 309 310 311 312 313 "
           "314 315 320 321 322 323 331 332 333 334 335 336 340 341 342 343 344 345",
           10, 5, "Karachi:30;Lahore:30;Islamabad:15;Rawalpindi:10;Peshawar:15", "en", "nnnnn"),
        _c("AF", "USD", "93", "0", "70 72 73 74 75 76 77 78 79", 9, 4,
           "Kabul:50;Herat:20;Mazar-i-Sharif:12;Kandahar:10;Jalalabad:8", "fa"),
        _c("ER", "ERN", "291", "0", "7", 7, 3, "Asmara:70;Keren:12;Massawa:10;Mendefera:8", "ti"),
           _c( "SY", "USD", "963", "0", "93 94 95 96 98 99", 9, 2,
           "Damascus:35;Aleppo:30;Homs:15;Latakia:10;Idlib:10", "ar"),
        _c("IQ", "USD", "964", "0", "750 751 770 771 780 781 790", 10, 3,
           "Baghdad:40;Erbil:20;Basra:20;Mosul:10;Sulaymaniyah:10", "ar"),
        _c("EG", "USD", "20", "0", "10 11 12 15", 10, 2, "Cairo:50;Alexandria:25;Giza:15;Asyut:10",
           "ar", "nnnnn"),
        _c("SO", "USD", "252", "0", "61 62 63 65 68", 9, 3,
           "Mogadishu:55;Hargeisa:25;Kismayo:10;Bosaso:10", "so"),
        _c("LY", "USD", "218", "0", "91 92 94 95", 9, 2,
           "Tripoli:45;Benghazi:25;Misrata:10;Zuwara:10;Sabha:10", "ar"),
        _c("NE", "EUR", "227", "", "90 91 96 97", 8, 1, "Niamey:50;Agadez:30;Zinder:10;Maradi:10",
           "fr"),
        _c("SD", "USD", "249", "0", "90 91 92 99 11 12", 9, 2,
           "Khartoum:50;Omdurman:15;Port Sudan:20;Kassala:15", "ar"),
        _c("YE", "USD", "967", "0", "70 71 73 77", 9, 3, "Sanaa:50;Aden:30;Taiz:20", "ar"),
    ]
}
# fmt: on

#: Countries whose banks hand over account statements (their booking times are Europe/Berlin
#: local time, which all of them share) and where statement subjects live.
STATEMENT_COUNTRIES: dict[str, float] = {
    "DE": 0.55,
    "AT": 0.10,
    "NL": 0.10,
    "BE": 0.07,
    "FR": 0.08,
    "IT": 0.06,
    "ES": 0.04,
}

#: Countries of the banks in the credit-transfer export (debtors and creditors with KYC).
KYC_BANK_COUNTRIES: tuple[str, ...] = (
    *STATEMENT_COUNTRIES,
    "CH",
    "SE",
    "NO",
    "GB",
    "PL",
    "LT",
    "HR",
)

#: Countries with IBANs whose banks are abroad for us (no customer ids in the export).
FOREIGN_BANK_COUNTRIES: tuple[str, ...] = ("TR", "AE", "SA", "QA", "JO", "RS", "BA")

#: Residents of the bank countries by community (shares), for bank customers.
RESIDENTS: dict[str, dict[str, float]] = {
    "DE": {
        "de": 0.72,
        "tr": 0.09,
        "balkan": 0.04,
        "pl": 0.04,
        "ar": 0.04,
        "af": 0.02,
        "it": 0.02,
        "ua": 0.02,
        "er": 0.01,
    },
    "AT": {"de": 0.75, "balkan": 0.1, "tr": 0.06, "ar": 0.03, "af": 0.03, "pl": 0.03},
    "CH": {"de": 0.55, "fr": 0.2, "it": 0.15, "balkan": 0.05, "er": 0.02, "pt": 0.03},
    "NL": {"nl": 0.78, "tr": 0.07, "ma": 0.07, "ar": 0.03, "pl": 0.03, "er": 0.02},
    "BE": {"nl": 0.45, "fr": 0.4, "ma": 0.08, "tr": 0.04, "ar": 0.03},
    "FR": {"fr": 0.8, "ma": 0.1, "pt": 0.03, "tr": 0.02, "ar": 0.03, "ng": 0.02},
    "IT": {"it": 0.84, "ma": 0.04, "ng": 0.03, "ua": 0.03, "ar": 0.03, "pk": 0.03},
    "ES": {"es": 0.86, "ma": 0.08, "pk": 0.02, "ua": 0.02, "ng": 0.02},
    "SE": {"sv": 0.8, "ar": 0.06, "so": 0.03, "er": 0.03, "af": 0.03, "pl": 0.03, "tr": 0.02},
    "NO": {"sv": 0.85, "so": 0.04, "er": 0.03, "pk": 0.04, "pl": 0.04},
    "GB": {"en": 0.8, "pk": 0.06, "ng": 0.04, "pl": 0.03, "so": 0.02, "ar": 0.03, "af": 0.02},
    "PL": {"pl": 0.92, "ua": 0.08},
    "LT": {"lt": 0.95, "ua": 0.05},
    "HR": {"balkan": 1.0},
    "TR": {"tr": 0.9, "ar": 0.07, "af": 0.03},
    "AE": {"ar": 0.45, "pk": 0.35, "en": 0.1, "eg": 0.1},
    "SA": {"ar": 0.6, "pk": 0.25, "eg": 0.15},
    "QA": {"ar": 0.5, "pk": 0.3, "eg": 0.2},
    "JO": {"ar": 1.0},
    "RS": {"balkan": 1.0},
    "BA": {"balkan": 1.0},
    "US": {"en": 0.85, "so": 0.05, "ng": 0.05, "pk": 0.05},
    "UA": {"ua": 1.0},
    "MA": {"ma": 1.0},
    "NG": {"ng": 1.0},
    "PK": {"pk": 1.0},
    "AF": {"af": 1.0},
    "ER": {"er": 1.0},
    "SY": {"ar": 1.0},
    "IQ": {"ar": 1.0},
    "EG": {"eg": 1.0},
    "SO": {"so": 1.0},
    "LY": {"ar": 1.0},
    "NE": {"ne": 1.0},
    "SD": {"ar": 1.0},
    "YE": {"ar": 1.0},
}


@dataclass(frozen=True)
class Diaspora:
    """A community's remittance corridor: where senders live and where their families are."""

    group: str
    share: float  # share of the MTO's remittance volume
    senders: dict[str, float]  # residence country of senders
    receivers: dict[str, float]  # payout country


#: Remittance corridors of the MTO (family remittances: 1-3 relatives sending to one receiver).
DIASPORAS: tuple[Diaspora, ...] = (
    Diaspora(
        "tr",
        0.11,
        {"DE": 0.5, "NL": 0.15, "AT": 0.1, "FR": 0.1, "BE": 0.05, "GB": 0.05, "SE": 0.05},
        {"TR": 1.0},
    ),
    Diaspora("ma", 0.09, {"FR": 0.35, "ES": 0.25, "IT": 0.15, "BE": 0.15, "NL": 0.1}, {"MA": 1.0}),
    Diaspora("ng", 0.07, {"GB": 0.45, "IT": 0.25, "DE": 0.15, "US": 0.15}, {"NG": 1.0}),
    Diaspora(
        "pk",
        0.09,
        {"GB": 0.35, "AE": 0.2, "SA": 0.15, "QA": 0.05, "IT": 0.1, "ES": 0.1, "NO": 0.05},
        {"PK": 1.0},
    ),
    Diaspora(
        "af",
        0.07,
        {"DE": 0.45, "SE": 0.15, "AT": 0.15, "GB": 0.1, "TR": 0.1, "NL": 0.05},
        {"AF": 1.0},
    ),
    Diaspora(
        "er",
        0.06,
        {"DE": 0.25, "SE": 0.25, "NO": 0.1, "IT": 0.1, "CH": 0.15, "GB": 0.1, "NL": 0.05},
        {"ER": 0.85, "SD": 0.15},
    ),
    Diaspora(
        "ar",
        0.14,
        {"DE": 0.45, "SE": 0.2, "AT": 0.1, "NL": 0.1, "TR": 0.1, "GB": 0.05},
        {"SY": 0.45, "JO": 0.15, "IQ": 0.2, "LY": 0.1, "SD": 0.05, "YE": 0.05},
    ),
    Diaspora("eg", 0.06, {"IT": 0.35, "AE": 0.25, "SA": 0.25, "QA": 0.05, "FR": 0.1}, {"EG": 1.0}),
    Diaspora("so", 0.04, {"SE": 0.3, "GB": 0.3, "NO": 0.2, "US": 0.2}, {"SO": 1.0}),
    Diaspora(
        "balkan", 0.08, {"DE": 0.4, "AT": 0.35, "CH": 0.15, "SE": 0.1}, {"RS": 0.55, "BA": 0.45}
    ),
    Diaspora("ua", 0.06, {"PL": 0.7, "DE": 0.2, "IT": 0.1}, {"UA": 1.0}),
    Diaspora("ne", 0.02, {"FR": 0.7, "IT": 0.3}, {"NE": 1.0}),
    # residents sending to friends and partners abroad: every name in every corridor
    Diaspora(
        "native",
        0.11,
        {
            "DE": 0.35,
            "FR": 0.15,
            "IT": 0.12,
            "GB": 0.12,
            "ES": 0.08,
            "NL": 0.08,
            "SE": 0.05,
            "US": 0.05,
        },
        {
            "TR": 0.2,
            "MA": 0.15,
            "NG": 0.1,
            "PK": 0.05,
            "RS": 0.1,
            "BA": 0.05,
            "UA": 0.1,
            "EG": 0.1,
            "JO": 0.05,
            "AE": 0.1,
        },
    ),
)

#: Payout currency of the MTO per payout country (only ECB-published or USD-pegged currencies).
PAYOUT_CURRENCY: dict[str, str] = {
    "TR": "TRY", "MA": "EUR", "NG": "USD", "PK": "USD", "AF": "USD", "ER": "ERN", "SY": "USD",
    "JO": "JOD", "IQ": "USD", "EG": "USD", "SO": "USD", "RS": "EUR", "BA": "EUR", "UA": "USD",
    "LY": "USD", "NE": "EUR", "SD": "USD", "YE": "USD", "AE": "AED", "SA": "SAR", "QA": "QAR",
}  # fmt: skip

#: Transit countries of smuggling routes (collectors; listed in the thresholds) and where
#: organisers are paid.
TRANSIT_COUNTRIES: tuple[str, ...] = tuple(
    DEFAULT_THRESHOLDS["smuggling_network"]["collector_countries"]
)
ORGANISER_COUNTRIES: tuple[str, ...] = ("AE", "TR", "LY", "SD")

#: USD pegs (units per USD) of currencies the ECB does not publish.
USD_PEGS: dict[str, float] = {"AED": 3.6725, "SAR": 3.75, "QAR": 3.64, "JOD": 0.709, "ERN": 15.0}

# ---------------------------------------------------------------------------------------------
# Names. "A|B|C" lists spellings of one name (first = canonical); a name without alternatives
# gets its ASCII folding as variant.

GIVEN: dict[str, str] = {
    "de": "Thomas Michael Stefan Andreas Jürgen Uwe Lukas Jonas Felix Sabine Claudia Julia Anna "
    "Katrin Monika Petra Jörg Björn Sören Maximilian Lena Sophie Tobias Daniel Heike",
    "nl": "Jan Pieter Daan Sem Bram Ruben Sanne Femke Lotte Eva Anouk Joost Maarten Willem Inge",
    "fr": "Jean Pierre Nicolas Julien Mathieu Sébastien Camille Chloé Léa Manon Émilie Hélène "
    "François Amélie Thérèse Benoît",
    "it": "Marco Giuseppe Luca Alessandro Francesco Giulia Chiara Francesca Sara Elena Matteo "
    "Lorenzo Paola Niccolò",
    "es": "José Antonio Manuel Javier David Carmen María Lucía Laura Marta Sergio Raúl Inés Andrés",
    "pt": "João Paulo Tiago Ana Beatriz Inês Gonçalo Rui",
    "sv": "Erik Lars Johan Anders Karl Anna Maria Karin Sofia Emma Björn Åsa Ingrid Håkan Olof",
    "en": "James John David Michael Daniel Sarah Emma Laura Rachel Claire Thomas Oliver Jessica "
    "Hannah Christopher",
    "pl": "Piotr Krzysztof Tomasz Paweł Michał Anna Katarzyna Małgorzata Agnieszka Magdalena "
    "Łukasz Wojciech",
    "lt": "Jonas Tomas Mantas Darius Rūta Eglė Inga Lukas",
    "ua": "Oleksandr|Aleksandr|Olexandr Andriy|Andrii|Andrij Serhiy|Serhii|Sergiy Olena|Elena "
    "Iryna|Irina Natalia|Nataliya Yulia|Yuliia|Julia Dmytro|Dmitro Mykola|Nikolai Oksana",
    "tr": "Mehmet|Mehmed Mustafa Ahmet|Ahmed Hüseyin|Huseyin Hasan İbrahim|Ibrahim Murat Emre "
    "Ayşe|Ayse Fatma Emine Zeynep Elif Hatice Yusuf|Yousef Ömer|Omer Kemal Cem Gül|Gul",
    "ar": "Mohammed|Muhammad|Mohamed Ahmed|Ahmad Mahmoud|Mahmud|Mahmood Yusuf|Youssef|Yousef "
    "Hussein|Hussain|Husein Hassan|Hasan Abdullah|Abdallah|Abdulla "
    "Abdulrahman|Abdul_Rahman|Abdelrahman Mustafa|Mostafa|Moustafa Omar|Umar Khaled|Khalid "
    "Ibrahim|Ebrahim Ali Said|Saeed Karim|Kareem Walid|Waleed Fatima|Fatimah Aisha|Aicha "
    "Mariam|Maryam Nour|Noor|Nur Zainab|Zaynab Rasha Huda|Hoda Amal Layla|Leila|Laila",
    "ma": "Mohamed|Mohammed|Muhammad Rachid|Rashid Youssef|Yusuf|Yousef Abdelkader|Abdulkader "
    "Said|Saïd Hamid|Hamed Mustapha|Mustafa Karim Brahim|Ibrahim Fatima|Fatma Khadija|Khadidja "
    "Naima|Naïma Samira Aicha|Aisha Meryem|Mariam Hanane Nadia",
    "eg": "Mohamed|Mohammed|Muhammad Ahmed|Ahmad Mahmoud|Mahmud Mostafa|Mustafa Ibrahim|Ebrahim "
    "Tarek|Tariq Sherif|Sharif Amr Hany|Hani Mona Heba Nourhan|Nour Yasmin|Yasmine|Jasmin",
    "pk": "Muhammad|Mohammad|Mohammed Imran Asif|Aasif Bilal Usman|Osman Ali Hamza Zeeshan "
    "Faisal|Faysal Tariq|Tarik Ayesha|Aisha|Aysha Fatima|Fatimah Sana Hina Nadia Saima",
    "af": "Mohammad|Muhammad|Mohammed Ahmad|Ahmed Mirwais|Mir_Wais Zabihullah|Zabiullah "
    "Hamidullah|Hamidulla Rahmatullah|Rahmatulla Gul_Ahmad|Gulahmad Abdul_Qadir|Abdulqadir "
    "Nazanin Shafiqa|Shafiqah Farid|Fareed Mansoor|Mansur Sayed|Said Hamid",
    "er": "Tesfay|Tesfaye|Tesfai Yohannes|Johannes|Yohanes Abraham|Abrham Filmon|Philemon "
    "Yonas|Jonas Dawit|Dawid Kidane Haile|Hayle Mulugeta Berhane|Berhe Tekle Senait|Senayt "
    "Mehret|Meheret Helen Semhar Aster Selam|Salam Luwam|Luam",
    "so": "Mohamed|Mohammed|Maxamed Abdirahman|Abdurahman|Abdirahmaan Abdullahi|Cabdullahi "
    "Ahmed|Axmed Hassan|Xasan Omar|Cumar Ali|Cali Farah Hodan|Xodan Fartun Amina|Aamina "
    "Sahra|Sahro Ayaan|Ayan",
    "ng": "Chinedu Oluwaseun|Oluseun Emeka Adebayo|Adebayor Ibrahim Ngozi Funmilayo|Funmi "
    "Chiamaka Aisha|Aishat Tunde Babajide Chukwuemeka|Chukwu Uche Blessing Abubakar",
    "ne": "Moussa|Musa Issoufou|Issoufu Abdoulaye|Abdullahi Amadou|Ahmadou Hadiza|Hadizatou "
    "Mariama|Mariam Ibrahim Aïchatou|Aichatou Boubacar|Abubakar Salamatou",
    "balkan": "Nikola Marko Stefan Milan Dragan Jelena Ana Milica Amir Edin|Edhin Emina Amra "
    "Haris Selma Mirza|Mirsa Damir Dženana|Dzenana Nermin",
}

SURNAMES: dict[str, str] = {
    "de": "Müller|Mueller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann "
    "Koch Richter Klein Wolf Schröder|Schroeder Neumann Schwarz Zimmermann Krüger|Krueger "
    "Hofmann Hartmann Lange Weiß|Weiss Jäger|Jaeger Groß|Gross",
    "nl": "de_Jong|De_Jong de_Vries|De_Vries|DeVries van_den_Berg|Van_den_Berg|vandenBerg "
    "van_Dijk|Van_Dijk Bakker Janssen Visser Smit Meijer|Meyer de_Boer|De_Boer Mulder Bos Vos "
    "Peeters Maes Jacobs",
    "fr": "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent "
    "Lefèvre|Lefebvre Michel Garcia Fontaine Rousseau Lambert Dupont",
    "it": "Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno Gallo "
    "Conti De_Luca|DeLuca Mancini Costa Giordano Rizzo",
    "es": "García Rodríguez González Fernández López Martínez Sánchez Pérez Gómez Martín "
    "Jiménez Ruiz Hernández Díaz Moreno Muñoz",
    "pt": "Silva Santos Ferreira Pereira Oliveira Costa Rodrigues Martins",
    "sv": "Andersson Johansson Karlsson Nilsson Eriksson Larsson Olsson Persson Svensson "
    "Lindqvist|Lindkvist Åberg|Aberg Lindström|Lindstrom Berg Hansen Johansen Olsen",
    "en": "Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright Thompson Evans "
    "Walker White Roberts Green Hall Wood Clarke|Clark",
    "pl": "Nowak Kowalski Wiśniewski|Wisniewski Wójcik|Wojcik Kowalczyk Kamiński|Kaminski "
    "Lewandowski Zieliński|Zielinski Szymański|Szymanski Woźniak|Wozniak Dąbrowski|Dabrowski",
    "lt": "Kazlauskas Jankauskas Petrauskas Stankevičius|Stankevicius Vasiliauskas Žukauskas|"
    "Zukauskas Butkus Paulauskas",
    "ua": "Shevchenko|Schewtschenko Kovalenko Bondarenko Tkachenko|Tkatschenko Kravchenko|"
    "Krawtschenko Melnyk|Melnik Boyko|Boiko Koval Oliynyk|Oliinyk Savchenko|Sawtschenko",
    "tr": "Yılmaz|Yilmaz Kaya Demir Şahin|Sahin Çelik|Celik Yıldız|Yildiz Öztürk|Ozturk "
    "Aydın|Aydin Arslan Doğan|Dogan Kılıç|Kilic Aslan Çetin|Cetin Kara Koç|Koc Kurt Özdemir|"
    "Ozdemir",
    "ar": "Al-Hashimi|El-Hashimi|Alhashimi Al-Masri|El-Masri|Almasri Al-Khatib|El-Khatib|"
    "Alkhatib Al-Tamimi|Al_Tamimi|Altamimi Al-Zoubi|Al_Zoubi|Alzoubi Al-Saadi|El-Saadi|Alsaadi "
    "Haddad|Hadad Khoury|Khouri|Khuri Nasser|Naser Mansour|Mansur Hamdan Jaber|Jabir "
    "Darwish|Darweesh Suleiman|Sulaiman|Soliman Abbas Hussein|Hussain Qasim|Kassem|Qassem "
    "Al-Obaidi|Al_Obaidi|Alobaidi Al-Jubouri|Al_Jubouri|Aljuburi Al-Sharif|El-Sherif|Alsharif",
    "ma": "El_Amrani|Amrani|El-Amrani Benali|Ben_Ali|Ben-Ali Bennani|Benani El_Idrissi|Idrissi|"
    "El-Idrissi Ouali|Wali Alaoui|El_Alaoui Tazi Berrada El_Fassi|Fassi Chraibi|Chraïbi "
    "Bouzid|Bouzit Ait_Ali|Aït_Ali|Aitali Haddou|Hadou Ziani|Zyani",
    "eg": "El-Sayed|Elsayed|Al-Sayed Abdel_Fattah|Abdelfattah|Abdel-Fattah Hassan|Hasan "
    "Mahmoud|Mahmud Mostafa|Mustafa Ibrahim Fawzy|Fawzi Shaker|Shakir Farouk|Farouq|Faruk "
    "El-Gamal|Elgamal|Al-Jamal",
    "pk": "Khan Butt|Bhatt Chaudhry|Chaudhary|Choudhry Qureshi|Kureshi|Qureishi Malik Raza "
    "Hussain|Hussein|Husain Iqbal Siddiqui|Siddiqi Ahmed|Ahmad Sheikh|Shaikh Javed|Javaid "
    "Anwar Rana",
    "af": "Ahmadzai|Ahmadzay Popal Noori|Nuri|Noorzai Rahimi|Rahimy Hakimi|Hakimy Karimi|Karimy "
    "Sultani Amiri|Amiry Mohammadi|Muhammadi Safi|Saafi Stanikzai|Stanekzai",
    "er": "Gebremedhin|Gebre_Medhin|Gebremedin Tesfamariam|Tesfa_Mariam Haile|Hayle "
    "Kidane|Kidanemariam Berhane|Berhe Tekle|Teklai Weldemichael|Woldemichael Habte|Habtom "
    "Ghebreyesus|Gebreyesus Mehari|Mehary Tewelde|Teweldebrhan Asfaha|Asfeha",
    "so": "Abdi|Cabdi Mohamed|Mohammed|Maxamed Hassan|Xasan Farah|Faarax Warsame|Warsama "
    "Omar|Cumar Ali|Cali Osman|Cusmaan Jama|Jaamac Ahmed|Axmed Yusuf|Yuusuf Nur|Nuur",
    "ng": "Okafor Adeyemi Okonkwo Balogun Eze Ogunleye Abubakar Bello Nwosu Olawale Ibrahim "
    "Adebayo Chukwu Okeke",
    "ne": "Issa|Issah Moussa|Musa Maïga|Maiga Souley|Souleymane Hamani Abdou|Abdu Garba Idrissa|"
    "Idrisa Boubacar",
    "balkan": "Jovanović|Jovanovic Petrović|Petrovic Nikolić|Nikolic Marković|Markovic "
    "Đorđević|Djordjevic|Dordevic Hodžić|Hodzic Kovačević|Kovacevic Hadžić|Hadzic Begić|Begic "
    "Delić|Delic Mehmedović|Mehmedovic Babić|Babic",
}

#: Communities whose people often carry a single name (a given name only) and whose documents
#: often show 1 January as birth date when the day is unknown.
SINGLE_NAME_GROUPS: dict[str, float] = {"af": 0.25, "so": 0.05, "er": 0.05}
JAN1_GROUPS: dict[str, float] = {"af": 0.6, "er": 0.3, "so": 0.4, "ar": 0.1, "pk": 0.1, "ne": 0.3}

#: German-style folding (ü → ue) for these communities; accents are dropped for the others.
GERMAN_FOLD = frozenset({"de", "sv"})

_GERMAN_MAP = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"}
)
_SPECIAL_MAP = str.maketrans(
    {"ı": "i", "İ": "I", "ł": "l", "Ł": "L", "đ": "dj", "Đ": "Dj", "ø": "o", "Ø": "O", "æ": "ae"}
)


def fold(text: str, german: bool = False) -> str:
    """ASCII folding as clerks and SWIFT systems write names: ``Müller`` → ``Mueller``/``Muller``."""
    if german:
        text = text.translate(_GERMAN_MAP)
    text = text.translate(_SPECIAL_MAP)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def name_variants(pool: str, german: bool) -> list[tuple[str, str, str]]:
    """Parse a pool string into (canonical, variant 1, variant 2) triples."""
    out = []
    for entry in pool.split():
        spellings = [s.replace("_", " ") for s in entry.split("|")]
        canonical = spellings[0]
        folded = fold(canonical, german)
        v1 = spellings[1] if len(spellings) > 1 else folded
        v2 = spellings[2] if len(spellings) > 2 else (folded if folded != v1 else canonical)
        out.append((canonical, v1, v2))
    return out


# ---------------------------------------------------------------------------------------------
# Streets, companies, texts

STREETS: dict[str, tuple[str, ...]] = {
    "de": (
        "Hauptstraße",
        "Bahnhofstraße",
        "Lindenweg",
        "Schillerstraße",
        "Gartenstraße",
        "Goethestraße",
        "Kirchweg",
        "Bergstraße",
        "Ringstraße",
        "Mühlenweg",
        "Am Markt",
        "Friedhofstraße",
    ),
    "nl": (
        "Kerkstraat",
        "Dorpsstraat",
        "Stationsweg",
        "Molenstraat",
        "Schoolstraat",
        "Julianastraat",
        "Marktplein",
        "Beukenlaan",
    ),
    "fr": (
        "rue de la République",
        "rue Victor Hugo",
        "avenue Jean Jaurès",
        "rue de la Gare",
        "boulevard Pasteur",
        "rue des Écoles",
        "place de l'Église",
        "rue du Moulin",
    ),
    "it": (
        "Via Roma",
        "Via Garibaldi",
        "Via Mazzini",
        "Corso Italia",
        "Via Dante",
        "Via Verdi",
        "Piazza della Repubblica",
        "Via Cavour",
    ),
    "es": (
        "Calle Mayor",
        "Calle Real",
        "Avenida de la Constitución",
        "Calle del Sol",
        "Plaza de España",
        "Calle San José",
    ),
    "sv": ("Storgatan", "Kyrkogatan", "Skolgatan", "Drottninggatan", "Järnvägsgatan", "Parkvägen"),
    "en": (
        "High Street",
        "Station Road",
        "Church Lane",
        "Victoria Road",
        "Park Avenue",
        "Main Street",
        "Green Lane",
        "Mill Road",
    ),
    "pl": ("ul. Polna", "ul. Lipowa", "ul. Kościuszki", "ul. Mickiewicza", "ul. Słoneczna"),
    "lt": ("Gedimino pr.", "Laisvės al.", "Vilniaus g.", "Taikos pr."),
    "tr": (
        "Atatürk Caddesi",
        "İstiklal Caddesi",
        "Cumhuriyet Mahallesi",
        "Gazi Bulvarı",
        "Fatih Sokak",
    ),
    "ar": (
        "Al Wahda Street",
        "Sharia al-Nasr",
        "Al Jumhuriya Street",
        "Omar Mukhtar Street",
        "Al Rashid Street",
        "Al Quds Road",
    ),
    "bs": ("Titova", "Ulica Kralja Petra", "Maršala Tita", "Ferhadija", "Bulevar Oslobođenja"),
    "uk": ("vul. Shevchenka", "vul. Khreshchatyk", "vul. Franka", "prosp. Svobody"),
    "fa": ("Darulaman Road", "Shahr-e Naw", "Jada-e Maiwand"),
    "ti": ("Harnet Avenue", "Sematat Avenue", "Warsay Street"),
    "so": ("Maka al-Mukarama Road", "Wadada Warshadaha", "Jidka Afgooye"),
}

#: Street number first (French/English style) in these languages.
NUMBER_FIRST_LANGS = frozenset({"fr", "en"})

COMPANY_PATTERNS: dict[str, tuple[str, ...]] = {
    "de": (
        "{S} Logistik GmbH",
        "{S} Bau GmbH",
        "{S} & Partner GmbH",
        "Autohaus {S}",
        "{S} Haustechnik GmbH",
        "{S} Handels GmbH",
        "{S} Metallbau KG",
        "Reinigung {S} GmbH",
    ),
    "nl": ("{S} Installatie B.V.", "{S} Transport B.V.", "Bouwbedrijf {S}", "{S} Groep B.V."),
    "fr": ("{S} Transports SARL", "{S} Bâtiment SAS", "Boulangerie {S}", "{S} Conseil SARL"),
    "it": ("{S} Costruzioni S.r.l.", "{S} Trasporti S.r.l.", "Officina {S}", "{S} & Figli S.p.A."),
    "es": ("{S} Distribuciones S.L.", "Construcciones {S} S.A.", "{S} Logística S.L."),
    "sv": ("{S} Bygg AB", "{S} Transport AB", "{S} Konsult AB"),
    "en": ("{S} Trading Ltd", "{S} Logistics Ltd", "{S} & Sons Ltd", "{S} Building Services Ltd"),
    "pl": ("{S} Sp. z o.o.", "Przedsiębiorstwo {S}", "{S} Transport Sp. z o.o."),
    "lt": ("UAB {S}", "UAB {S} Logistika"),
    "bs": ("{S} d.o.o.", "Građevina {S} d.o.o."),
}
MERCHANT_PATTERNS: dict[str, tuple[str, ...]] = {
    "de": (
        "Frischmarkt {S}",
        "Bäckerei {S}",
        "Getränke {S}",
        "Apotheke am Markt {C}",
        "Drogerie {S}",
        "Tankstelle {S}",
        "Buchhandlung {S}",
    ),
    "nl": ("Supermarkt {S}", "Bakkerij {S}", "Drogisterij {S}", "Tankstation {S}"),
    "fr": ("Épicerie {S}", "Boulangerie {S}", "Pharmacie {S}", "Station {S}"),
    "it": ("Alimentari {S}", "Panificio {S}", "Farmacia {S}", "Distributore {S}"),
    "es": ("Supermercado {S}", "Panadería {S}", "Farmacia {S}", "Gasolinera {S}"),
}
UTILITY_PATTERNS: dict[str, tuple[str, ...]] = {
    "de": ("Stadtwerke {C}", "{C} Energie AG", "Mobilfunk {S} GmbH"),
    "nl": ("Energie {C} B.V.", "Waterbedrijf {C}"),
    "fr": ("Énergie {C}", "Télécom {S} SA"),
    "it": ("Energia {C} S.p.A.", "Acquedotto {C}"),
    "es": ("Energía {C} S.A.", "Telefonía {S} S.L."),
}

#: Remittance words per language: salary, rent, card payment, utility bill.
TEXTS: dict[str, tuple[str, str, str, str]] = {
    "de": ("Gehalt", "Miete", "Kartenzahlung", "Abschlag"),
    "nl": ("Salaris", "Huur", "Betaalautomaat", "Termijnbedrag"),
    "fr": ("Salaire", "Loyer", "PAIEMENT CB", "Prélèvement"),
    "it": ("Stipendio", "Affitto", "PAGAMENTO POS", "Addebito"),
    "es": ("Nómina", "Alquiler", "COMPRA TARJ.", "Recibo"),
    "sv": ("Lön", "Hyra", "Kortköp", "Autogiro"),
    "en": ("Salary", "Rent", "Card payment", "Direct debit"),
    "pl": ("Wynagrodzenie", "Czynsz", "Płatność kartą", "Polecenie zapłaty"),
    "lt": ("Atlyginimas", "Nuoma", "Mokėjimas kortele", "Sąskaita"),
    "bs": ("Plata", "Kirija", "Plaćanje karticom", "Račun"),
}

BANK_WORDS: dict[str, tuple[str, ...]] = {
    "de": ("Nordstadt Bank", "Rheintal Sparkasse", "Hanse Volksbank", "Alpenland Bank"),
    "nl": ("Polderbank", "Zuiderzee Bank"),
    "fr": ("Crédit Rhodanien", "Banque de la Loire", "Banque Ardennaise"),
    "it": ("Banca Lagunare", "Cassa di Risparmio del Po"),
    "es": ("Banco del Tajo", "Caja Mediterránea"),
    "sv": ("Norrlandsbanken", "Fjordbank"),
    "en": ("Thames Mutual Bank", "Pennine Bank"),
    "pl": ("Bank Wiślany",),
    "lt": ("Nemuno bankas",),
    "bs": ("Jadranska banka", "Drina banka"),
    "tr": ("Boğaziçi Bankası", "Anadolu Katılım Bankası"),
    "ar": ("Gulf Pearl Bank", "Levant Commercial Bank"),
}

#: Listed high-risk countries (see the thresholds) that corridor cases pay into; ordinary small
#: remittances go there too.
CORRIDOR_CASE_COUNTRIES: tuple[str, ...] = ("SY", "AF", "YE")
