"""Name pools of the identity generator, with every spelling tagged by its kind of variation.

An entry ``"Gebremedhin|Gebre Medhin:spacing|Ghebremedhin|Jebremedhin:gj"`` lists the canonical
spelling first, then variants; an untagged variant is a transliteration (``translit``). Other
kinds: ``gj`` (g / j / dj spellings: Gebre / Jebre, Gamal / Jamal), ``short`` (Berhe /
Berhane), ``spacing`` (articles and spacing: Al-Masri / El-Masri / Almasri, Gebre Medhin). A
leading ``~`` marks a female given name (never a father's name). ``PATRONYMICS`` gives the
Ukrainian / Russian patronymic of a father's name (male, female; each "Ukrainian|Russian").
"""

from __future__ import annotations

#: group → (origin countries of passports, given names, surnames or "" when the family name is
#: the grandfather's given name, name structure)
#: structures: "gs" given + surname (father inserted as a variant), "gfs" given + father +
#: surname, "chain" given + father + grandfather (patronymic chain: Somali, Tigrinya, Amharic)
GROUPS: dict[str, tuple[str, str, str, str]] = {
    "ar": (
        "SY IQ",
        "Mohammed|Muhammad|Mohamed|Mohammad|Mohd:short Ahmed|Ahmad|Ahmet "
        "Mahmoud|Mahmud|Mahmood Youssef|Yusuf|Yousef|Yousif|Jusuf:gj Hussein|Hussain|Husein|Hossein "
        "Hassan|Hasan|Hasen Abdullah|Abdallah|Abdulla|Abd_Allah:spacing "
        "Abdulrahman|Abdelrahman|Abdul_Rahman:spacing|Abderrahmane Mustafa|Mostafa|Moustafa|Mustapha "
        "Omar|Umar|Omer Khaled|Khalid|Chaled Ibrahim|Ebrahim|Brahim Ali|Aly Saeed|Said|Saied "
        "Karim|Kareem Walid|Waleed|Oualid Jamal|Gamal:gj|Djamal:gj Tariq|Tarek|Tarik "
        "Samir|Sameer Nabil|Nabeel Rami|Ramy Bashar|Bachar Hamza|Hamzah Anas|Enes Bilal|Belal "
        "Osama|Usama|Oussama Majid|Majed|Magid:gj Rajab|Ragab:gj Najib|Nageeb|Nagib:gj "
        "~Fatima|Fatimah|Fatma ~Aisha|Aicha|Ayesha|Aysha ~Mariam|Maryam|Meryem ~Nour|Noor|Nur "
        "~Zainab|Zaynab|Zeinab ~Layla|Leila|Laila ~Yasmin|Yasmine|Jasmin:gj ~Rasha|Racha "
        "~Huda|Hoda ~Amal|Amel ~Rana|Ranah ~Samira|Sameera",
        "Al-Hashimi|El-Hashimi:spacing|Alhashimi:spacing|Al_Hashemi "
        "Al-Masri|El-Masri:spacing|Almasri:spacing|Al_Masry Al-Khatib|El-Khatib:spacing|"
        "Alkhatib:spacing|Al_Khateeb Al-Tamimi|Al_Tamimi:spacing|Altamimi:spacing|Al-Tamimy "
        "Al-Zoubi|Al_Zoubi:spacing|Alzoubi:spacing|Al-Zubi Al-Saadi|El-Saadi:spacing|"
        "Alsaadi:spacing|Al-Sadi Haddad|Hadad Khoury|Khouri|Khuri Mansour|Mansur|Mansoor "
        "Hamdan|Hamdane Jaber|Jabir|Gaber:gj Darwish|Darweesh|Derwich "
        "Suleiman|Sulaiman|Soliman|Sleiman Abbas|Abas Qasim|Kassem|Qassem|Kasim "
        "Al-Obaidi|Al_Obaidi:spacing|Alobaidi:spacing|Al-Ubaidi Al-Jubouri|Al_Jubouri:spacing|"
        "Aljuburi|Al-Jabouri Al-Sharif|El-Sherif|Alsharif:spacing|Al-Shareef "
        "Ben_Ali|Benali:spacing|Ben-Ali:spacing Abdel_Fattah|Abdelfattah:spacing|Abdul_Fattah "
        "El-Sayed|Elsayed:spacing|Al-Sayed|El_Saied Al-Najjar|El-Naggar:gj|Alnajjar:spacing|"
        "Al_Najar Al-Rifai|Al-Refai|Alrifai:spacing Shaker|Shakir|Chaker Farouk|Farouq|Faruk "
        "Haidar|Haydar|Hayder Saleh|Salih Issa|Eissa|Isa Khalil|Khaleel|Halil",
        "gs",
    ),
    "so": (
        "SO",
        "Mohamed|Maxamed|Mohammed|Muhammad Abdirahman|Cabdiraxmaan|Abdurahman|Abdirahmaan "
        "Abdullahi|Cabdullaahi|Abdulahi Ahmed|Axmed|Ahmad Hassan|Xasan|Hasan "
        "Hussein|Xuseen|Husein Omar|Cumar|Umar Ali|Cali Abdi|Cabdi Farah|Faarax "
        "Osman|Cusmaan|Usman Yusuf|Yuusuf|Yousuf Ibrahim|Ibraahim Ismail|Ismaaciil|Ismacil "
        "Abdikarim|Cabdikariim|Abdi_Karim:spacing Abdiqadir|Cabdiqaadir|Abdikadir "
        "Mukhtar|Mukhtaar Warsame|Warsama Jama|Jaamac|Jamac Nur|Nuur Guled|Guuleed|Gulled "
        "Abshir|Abshiir Dahir|Daahir Shire|Shiire Aden|Aadan|Adan Mahad|Maxad "
        "~Hodan|Xodan ~Fartun|Fartuun ~Amina|Aamina ~Sahra|Sahro ~Ayaan|Ayan ~Hawa|Xaawo|Hawo "
        "~Fadumo|Faadumo|Fatuma ~Maryan|Maryam ~Khadija|Khadiija|Qadiija ~Istar|Istaar",
        "",
        "chain",
    ),
    "er": (
        "ER",
        "Yohannes|Yohanes|Johannes:gj|Yohannis Tesfay|Tesfaye|Tesfai Abraham|Abrham|Abrahim "
        "Filmon|Philemon|Filimon Yonas|Jonas:gj|Yonass Dawit|Dawid|Daweet Kidane|Kidan|Kiddane "
        "Haile|Hayle|Hailay Mulugeta|Mulageta|Mulu:short Berhane|Berhe:short|Birhane|Brhane "
        "Tekle|Teklay|Tekley Gebremedhin|Gebre_Medhin:spacing|Ghebremedhin|Jebremedhin:gj "
        "Gebrehiwet|Gebre_Hiwet:spacing|Ghebrehiwet|Jebrehiwet:gj "
        "Gebreyesus|Ghebreyesus|Jebreyesus:gj|Gebre_Yesus:spacing "
        "Weldemichael|Woldemichael|Welde_Michael:spacing|Woldemikael Habtom|Habte:short|Habtu "
        "Mehari|Mehary|Mihari Tewelde|Tuwelde|Teweldé Asfaha|Asfeha|Asfha "
        "Ghirmay|Girmay|Jirmay:gj|Ghermay Goitom|Goytom|Joitom:gj Amanuel|Emanuel|Amanel "
        "Zerai|Zeray|Zerei Medhanie|Medhane|Medhani Tsegay|Tsegai|Segay Russom|Rusom "
        "Tesfamariam|Tesfa_Mariam:spacing|Tesfamaryam|Tesfa:short "
        "Kidanemariam|Kidane_Mariam:spacing|Kidanemaryam "
        "~Senait|Senayt|Sennait ~Mehret|Meheret|Mihret ~Helen|Hellen|Elen ~Semhar|Simhar "
        "~Aster|Astier ~Selam|Salam ~Luwam|Luam|Luwaam ~Saba|Sabah ~Tsega|Tsegga "
        "~Yordanos|Jordanos:gj|Yordanose ~Freweini|Frewoini|Fraweini ~Hiwet|Hiwot|Hewet",
        "",
        "chain",
    ),
    "et": (
        "ET",
        "Getachew|Getachewu|Jetachew:gj Alemayehu|Alemayhu|Alemayew Tadesse|Tadese|Taddesse "
        "Bekele|Bakele|Bekelle Girma|Ghirma|Jirma:gj Tesfaye|Tesfay|Tesfaie "
        "Mesfin|Messfin|Mesfine Dereje|Deraje|Dereji Solomon|Solomone|Selomon Yared|Jared:gj|Yarid "
        "Wondimu|Wendimu|Wondmu Assefa|Asefa|Assefah Kebede|Kebbede|Kabede "
        "Hailemariam|Haile_Mariam:spacing|Haylemariam Woldegiorgis|Wolde_Giorgis:spacing|"
        "Weldegiorgis|Woldegiyorgis Gebreegziabher|Gebre_Egziabher:spacing|Ghebreegziabher|"
        "Jebreegziabher:gj Abebe|Abbebe|Abebbe Tilahun|Tilahune|Tilahoun Worku|Werku|Workou "
        "~Tigist|Tigest|Tgist ~Meseret|Meserat|Messeret ~Almaz|Almazz|Elmaz ~Genet|Ganet|Jenet:gj "
        "~Hirut|Hiruth|Herut ~Bethlehem|Betelhem|Bethelhem ~Selamawit|Selamawite|Salamawit",
        "",
        "chain",
    ),
    "af": (
        "AF",
        "Mohammad|Muhammad|Mohammed|Mohd:short Ahmad|Ahmed Mirwais|Mir_Wais:spacing|Mirways "
        "Zabihullah|Zabiullah|Zabihulla|Zabih_Ullah:spacing Hamidullah|Hamidulla|Hamid_Ullah:spacing "
        "Rahmatullah|Rahmatulla|Rahmat_Ullah:spacing Gul_Ahmad|Gulahmad:spacing|Gul_Ahmed "
        "Abdul_Qadir|Abdulqadir:spacing|Abdul_Kadir|Abdulkadir:spacing Farid|Fareed|Fared "
        "Mansoor|Mansur|Mansour Sayed|Sayyed|Seyed Hamid|Hameed|Hamed "
        "Najibullah|Najibulla|Nadschibullah Khalilullah|Khalilulla|Khalil_Ullah:spacing "
        "Wahidullah|Wahidulla|Waheedullah Ismail|Esmail|Ismael Nasir|Naseer|Nassir "
        "Jawad|Javad|Jawed Baryalai|Baryalay|Bariyalai Shafiqullah|Shafiqulla|Shafiq_Ullah:spacing "
        "~Nazanin|Nazaneen|Nasanin ~Shafiqa|Shafiqah|Shafiga ~Fariba|Fereba|Faribah "
        "~Zarghona|Zarghuna|Zarghoona ~Malalai|Malalay|Malali ~Freshta|Fereshta|Fereshteh",
        "Ahmadzai|Ahmadzay|Ahmedzai Popal|Pupal Noori|Nuri|Nouri Noorzai|Nurzai|Noorzay "
        "Rahimi|Rahimy|Rahemi Hakimi|Hakimy|Hakeemi Karimi|Karimy|Kareemi Sultani|Soltani|Sultany "
        "Amiri|Amiry|Ameeri Mohammadi|Muhammadi|Mohamadi Safi|Saafi|Safee "
        "Stanikzai|Stanekzai|Stanakzai Wardak|Wardag|Vardak Durrani|Durani|Dorrani "
        "Haqqani|Haqani|Hakkani Yousufzai|Yusufzai|Yousafzai Sadat|Saadat|Sadaat "
        "Jalali|Djalali:gj|Jalaly",
        "gs",
    ),
    "ku": (
        "IQ TR",
        "Shivan|Şivan|Sivan|Schiwan Azad|Asad|Azat Dilshad|Dilşad|Dilschad Hozan|Hozhan "
        "Kawa|Kava|Kaweh Serhat|Serhad|Sarhat Zana|Zanna Rebwar|Rebuar|Ribwar Hawre|Hawri|Hawreh "
        "Diyar|Dijar|Diar Ciwan|Jiwan:gj|Djiwan:gj Baran|Barran Rojhat|Rojhad|Roschat "
        "Karwan|Kerwan|Karwanê Bakhtiar|Bakhtyar|Bachtiar "
        "~Rojda|Roshda|Rojdah ~Dilan|Dilane|Dilen ~Nareen|Narin|Nerin ~Shilan|Şilan|Schilan "
        "~Jiyan|Jian|Ciyan:gj ~Berivan|Bêrîvan|Beriwan ~Hevin|Hêvîn|Hewin",
        "Barzani|Barazani|Berzani Talabani|Talebani|Talabany Zebari|Zibari|Zebary "
        "Doski|Duski|Doskî Rashid|Reşid|Resid|Raschid Amedi|Amadi|Amêdî Hawrami|Hewrami|Hawramy "
        "Khoshnaw|Xoşnaw|Choschnaw Jaff|Caf:gj|Djaf:gj Sindi|Sindy|Sindî Berwari|Barwari|Berwary "
        "Mizuri|Mizori|Mezouri Herki|Harki|Hêrkî",
        "gs",
    ),
    "tr": (
        "TR",
        "Mehmet|Mehmed Mustafa|Mustapha Ahmet|Ahmed Hüseyin|Huseyin|Hueseyin|Husein "
        "Hasan|Hassan İbrahim|Ibrahim Murat|Murad Ömer|Omer|Oemer Yusuf|Jusuf:gj "
        "Kemal|Kamal|Kemall Cem|Djem:gj|Jem:gj Çağlar|Caglar|Tschaglar Gökhan|Gokhan|Goekhan "
        "Özgür|Ozgur|Oezguer Oğuz|Oguz|Ougouz Şükrü|Sukru|Schuekrue Recep|Recepp|Redschep "
        "~Ayşe|Ayse|Aysche ~Fatma|Fadma ~Emine|Emina ~Zeynep|Zeinep|Zejnep "
        "~Hatice|Hatidsche|Hatije ~Gül|Gul|Guel ~Şule|Sule|Schule ~Özlem|Ozlem|Oezlem",
        "Yılmaz|Yilmaz|Jilmaz:gj Kaya|Kajah Demir|Demır Şahin|Sahin|Schahin Çelik|Celik|Tschelik "
        "Yıldız|Yildiz|Jildiz:gj Öztürk|Ozturk|Oeztuerk Aydın|Aydin|Aidin Arslan|Arsslan "
        "Doğan|Dogan|Doan Kılıç|Kilic|Kilitsch Çetin|Cetin|Tschetin Koç|Koc|Kotsch "
        "Özdemir|Ozdemir|Oezdemir Güneş|Gunes|Guenes Erdoğan|Erdogan|Erdoan Polat|Pollat "
        "Aksoy|Aksoi Yavuz|Jawus:gj|Yawuz Karataş|Karatas|Karatasch",
        "gs",
    ),
    "ua": (
        "UA",
        "Oleksandr|Aleksandr|Olexandr|Alexander Andriy|Andrii|Andrij|Andrei|Andrey "
        "Serhiy|Serhii|Sergiy|Sergei|Sergey Dmytro|Dmitro|Dmitri|Dmitry "
        "Mykola|Nikolai|Mikola|Nikolay Volodymyr|Vladimir|Wolodymyr|Volodimir "
        "Yuriy|Yurii|Juri:gj|Yuri Oleh|Oleg Vasyl|Vasily|Wassili|Vasil Ihor|Igor "
        "Pavlo|Pavel|Pawlo Viktor|Victor|Wiktor Maksym|Maxim|Maksim "
        "~Olena|Elena|Jelena ~Iryna|Irina ~Nataliya|Natalia|Natalija ~Yuliya|Yuliia|Julia:gj|Yulia "
        "~Oksana|Oxana|Oksanna ~Tetiana|Tatiana|Tetyana|Tatjana ~Svitlana|Svetlana|Swetlana "
        "~Kateryna|Ekaterina|Katerina|Jekaterina",
        "Shevchenko|Schewtschenko|Ševčenko|Szewczenko Kovalenko|Kowalenko|Kovalenka "
        "Bondarenko|Bondarienko Tkachenko|Tkatschenko|Tkačenko Kravchenko|Krawtschenko|Kravčenko "
        "Melnyk|Melnik|Mielnik Boyko|Boiko|Bojko Koval|Kowal Oliynyk|Oliinyk|Olijnyk|Oleynik "
        "Savchenko|Sawtschenko|Savčenko Kuznetsov|Kusnezow|Kuznecov Popov|Popow|Popoff "
        "Ivanenko|Iwanenko Rudenko|Rudenka Lysenko|Lissenko|Lysenka "
        "Marchenko|Martschenko|Marčenko Petrenko|Petrenka|Pietrenko",
        "gs",
    ),
}

#: Ukrainian / Russian patronymics of a father's canonical given name: (male, female).
PATRONYMICS: dict[str, tuple[str, str]] = {
    "Oleksandr": ("Oleksandrovych|Aleksandrovich", "Oleksandrivna|Aleksandrovna"),
    "Andriy": ("Andriyovych|Andreevich", "Andriyivna|Andreevna"),
    "Serhiy": ("Serhiyovych|Sergeevich", "Serhiyivna|Sergeevna"),
    "Dmytro": ("Dmytrovych|Dmitrievich", "Dmytrivna|Dmitrievna"),
    "Mykola": ("Mykolayovych|Nikolaevich", "Mykolayivna|Nikolaevna"),
    "Volodymyr": ("Volodymyrovych|Vladimirovich", "Volodymyrivna|Vladimirovna"),
    "Yuriy": ("Yuriyovych|Yurievich", "Yuriyivna|Yurievna"),
    "Oleh": ("Olehovych|Olegovich", "Olehivna|Olegovna"),
    "Vasyl": ("Vasylovych|Vasilievich", "Vasylivna|Vasilievna"),
    "Ihor": ("Ihorovych|Igorevich", "Ihorivna|Igorevna"),
    "Pavlo": ("Pavlovych|Pavlovich", "Pavlivna|Pavlovna"),
    "Viktor": ("Viktorovych|Viktorovich", "Viktorivna|Viktorovna"),
    "Maksym": ("Maksymovych|Maksimovich", "Maksymivna|Maksimovna"),
}

#: Group weights of the generated persons (communities whose names vary most in the records).
GROUP_WEIGHTS: dict[str, float] = {
    "ar": 0.26,
    "so": 0.12,
    "er": 0.12,
    "et": 0.06,
    "af": 0.12,
    "ku": 0.08,
    "tr": 0.12,
    "ua": 0.12,
}

#: Countries of residence (phones, addresses, residence permits, IBANs).
RESIDENCE: dict[str, float] = {"DE": 0.4, "NL": 0.15, "SE": 0.15, "AT": 0.1, "BE": 0.1, "IT": 0.1}
