"""Write pii_synthetic.jsonl: hand-written multi-locale posts with PII marked up.

Run `python tests/privacy/data/make_synthetic.py` to regenerate (deterministic). Sentences and
names were written by hand for each locale (not drawn from the scrubber's name lists); values
with checksums (IBAN mod-97, Luhn, PESEL, NIF, NHS, TC kimlik, codice fiscale, Aadhaar) are
computed so they are valid. Markup: ⟦kind:value⟧, parsed by `vibeforge.privacy.labelled`.
Each record's split (dev / heldout) comes from a hash of its text: the scrubber was tuned on
dev only.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

HERE = Path(__file__).parent
R = random.Random(20260521)

# locale -> (full names, given names used alone) written by hand
NAMES: dict[str, tuple[list[str], list[str]]] = {
    "en_US": (
        [
            "Tyler Brooks",
            "Shanice Washington",
            "Brandon O'Connell",
            "Kayla Nguyen",
            "Marcus Delgado",
            "Heather McAllister",
            "DeShawn Carter",
            "Amber Kowalczyk",
        ],
        ["Tyler", "Shanice", "Jaxon", "Brianna", "Dustin", "Kendra", "Colton", "Mackenzie"],
    ),
    "en_GB": (
        [
            "Callum Whitfield",
            "Siobhan Gallagher",
            "Rhys Pritchard",
            "Niamh Doherty",
            "Alistair Fairbairn",
            "Bethany Hargreaves",
            "Declan Murphy",
            "Imogen Ashworth",
        ],
        ["Callum", "Siobhan", "Rhys", "Niamh", "Ewan", "Freya", "Lachlan", "Imogen"],
    ),
    "de_DE": (
        [
            "Jürgen Schäfer",
            "Annika Böhm",
            "Tobias Wagner",
            "Kerstin Hoffmann",
            "Lukas Brandt",
            "Friederike von der Heide",
            "Maximilian Krause",
            "Svenja Lehmann",
        ],
        ["Jürgen", "Annika", "Tobias", "Kerstin", "Dörte", "Malte", "Wiebke", "Hannes"],
    ),
    "nl_NL": (
        [
            "Sjoerd van der Berg",
            "Femke de Vries",
            "Joost Bakker",
            "Marieke van Dijk",
            "Bram Janssen",
            "Anouk Visser",
            "Thijs de Jong",
            "Lieke van den Broek",
        ],
        ["Sjoerd", "Femke", "Joost", "Marieke", "Bram", "Anouk", "Thijs", "Lieke"],
    ),
    "it_IT": (
        [
            "Giuseppe Esposito",
            "Chiara Bianchi",
            "Lorenzo Romano",
            "Francesca Colombo",
            "Alessandro Del Piero",
            "Federica Ricci",
            "Matteo Gallo",
            "Giulia Marino",
        ],
        ["Giuseppe", "Chiara", "Lorenzo", "Francesca", "Matteo", "Giulia", "Davide", "Alessia"],
    ),
    "pl_PL": (
        [
            "Małgorzata Kowalska",
            "Krzysztof Nowak",
            "Agnieszka Wiśniewska",
            "Tomasz Wójcik",
            "Katarzyna Kamińska",
            "Paweł Lewandowski",
            "Zofia Zielińska",
            "Grzegorz Szymański",
        ],
        ["Małgorzata", "Krzysztof", "Agnieszka", "Tomasz", "Kasia", "Paweł", "Zofia", "Grzegorz"],
    ),
    "fr_FR": (
        [
            "Amélie Dubois",
            "Mathieu Lefèvre",
            "Camille Moreau",
            "Benoît Girard",
            "Océane Fournier",
            "Jean-Baptiste Mercier",
            "Clémence Lambert",
            "Thibault Rousseau",
        ],
        ["Amélie", "Mathieu", "Camille", "Benoît", "Océane", "Thibault", "Clémence", "Yannick"],
    ),
    "es_ES": (
        [
            "Alejandro García",
            "Lucía Fernández",
            "Javier Martínez",
            "Carmen del Río",
            "Sergio Navarro",
            "Nerea Jiménez",
            "Íñigo Etxeberria",
            "Rocío Castillo",
        ],
        ["Alejandro", "Lucía", "Javier", "Nerea", "Sergio", "Rocío", "Íñigo", "Paloma"],
    ),
    "pt_BR": (
        [
            "João Pereira",
            "Mariana Souza",
            "Thiago Oliveira",
            "Larissa Carvalho",
            "Gustavo Ribeiro",
            "Fernanda Almeida",
            "Rafael dos Santos",
            "Juliana Rodrigues",
        ],
        ["João", "Mariana", "Thiago", "Larissa", "Gustavo", "Fernanda", "Rafael", "Juliana"],
    ),
    "ru_RU": (
        [
            "Дмитрий Иванов",
            "Анна Смирнова",
            "Сергей Кузнецов",
            "Екатерина Попова",
            "Алексей Соколов",
            "Ольга Лебедева",
            "Dmitry Volkov",
            "Natalia Morozova",
        ],
        ["Дмитрий", "Анна", "Сергей", "Екатерина", "Алексей", "Ольга", "Наташа", "Игорь"],
    ),
    "zh_CN": (
        ["王伟", "李娜", "张敏", "刘洋", "陈静", "杨帆", "Wang Wei", "Li Xiaoming"],
        ["王伟", "李娜", "张敏", "刘洋", "Zhang Min", "Chen Jing", "Liu Yang", "Huang Lei"],
    ),
    "tr_TR": (
        [
            "Mehmet Yılmaz",
            "Ayşe Kaya",
            "Mustafa Demir",
            "Elif Şahin",
            "Emre Çelik",
            "Zeynep Yıldız",
            "Burak Öztürk",
            "Selin Aydın",
        ],
        ["Mehmet", "Ayşe", "Mustafa", "Elif", "Emre", "Zeynep", "Burak", "Selin"],
    ),
}

# name sentences per locale: {full} a full name, {first} a given name alone
NAME_SENTENCES: dict[str, list[str]] = {
    "en_US": [
        "Just ran into {full} at Target, she says hi",
        "{first} and I are driving to Austin this weekend",
        "my friend {first_lower} swears the new iPhone is worse",
        "great panel today with {full} on self-driving trucks",
        "cc {first_lower} you need to see this",
        "Happy birthday {first}!! 🎉🎉",
        "🎉{first}🎉 finally got the job",
        "#ThankYou{first} for covering my shift",
        "Huge thanks to {full} for the ride to JFK",
        "met {first} at the gate, turns out we're on the same flight",
    ],
    "en_GB": [
        "Brilliant night out with {full}, cheers mate",
        "{first} reckons the 7:15 to Leeds will be cancelled again",
        "having a pint with {first_lower} and the lads",
        "my flatmate {full} just locked us out lol",
        "cc {first_lower} this is the bloke I told you about",
        "Congrats {first}! 🥂",
        "Shout out to {full} at the Tesco on Hill Road",
        "#Team{first} all the way",
        "{full} from accounts has nicked my stapler again",
        "off to Brighton with {first} tomorrow",
    ],
    "de_DE": [
        "Gestern mit {full} beim Bäcker getroffen, sie grüßt euch",
        "{first} sagt, der ICE nach Hamburg fällt wieder aus",
        "mein Freund {first_lower} hat endlich den Führerschein",
        "Danke {first} für die Hilfe beim Umzug!",
        "Heute Abend mit {full} im Biergarten 🍺",
        "Alles Gute zum Geburtstag, {first}! 🎂",
        "Shoutout an {full} für den Tipp mit dem Tesla",
        "just had lunch with {full} in Munich",
        "{first} and I finally booked Mallorca",
        "Frau {last} vom Bürgeramt war super nett",
    ],
    "nl_NL": [
        "Gisteren met {full} naar het concert geweest",
        "{first} zegt dat de trein naar Utrecht weer vertraging heeft",
        "mijn vriendin {first_lower} heeft eindelijk een fiets gekocht",
        "Bedankt {first} voor de lift!",
        "Koffie met {full} bij de Albert Heijn, gezellig",
        "Gefeliciteerd {first}! 🎉",
        "shoutout to {full} for fixing my bike",
        "drinks with {first} in Amsterdam tonight",
        "Meneer {last} van de gemeente belde net terug",
        "{full} heeft de quiz gewonnen haha",
    ],
    "it_IT": [
        "Ieri sera a cena con {full}, che risate",
        "{first} dice che il treno per Milano è in ritardo",
        "il mio amico {first_lower} ha comprato un iPhone nuovo",
        "Grazie {first} per il passaggio!",
        "Caffè con {full} in piazza stamattina ☕",
        "Tanti auguri {first}! 🎂",
        "dinner with {full} in Rome, best carbonara ever",
        "{first} and I are flying to Naples on Friday",
        "la Sig.ra {last} della banca non risponde mai",
        "complimenti a {full} per la laurea",
    ],
    "pl_PL": [
        "Wczoraj spotkałem {full} w Biedronce",
        "{first} mówi, że pociąg do Krakowa znowu się spóźnia",
        "mój kolega {first_lower} kupił nowy samochód",
        "Dzięki {first} za pomoc!",
        "Kawa z {full} na Starym Mieście ☕",
        "Wszystkiego najlepszego {first}! 🎉",
        "had pierogi with {full} in Warsaw",
        "{first} and I are watching the match tonight",
        "Pani {last} z dziekanatu znowu zgubiła moje papiery",
        "gratulacje dla {full} za wygraną",
    ],
    "fr_FR": [
        "Dîner hier soir avec {full}, trop sympa",
        "{first} dit que le TGV pour Lyon est encore en retard",
        "mon ami {first_lower} a enfin son permis",
        "Merci {first} pour le coup de main !",
        "Café avec {full} au bord du canal ☕",
        "Joyeux anniversaire {first} ! 🎂",
        "lunch with {full} in Paris today",
        "{first} and I just landed in Nice",
        "Mme {last} de la mairie a été adorable",
        "bravo à {full} pour le marathon",
    ],
    "es_ES": [
        "Ayer cené con {full}, qué risa",
        "{first} dice que el AVE a Sevilla va con retraso",
        "mi amigo {first_lower} se ha comprado un coche",
        "¡Gracias {first} por todo!",
        "Café con {full} en la Plaza Mayor ☕",
        "¡Feliz cumpleaños {first}! 🎉",
        "tapas with {full} in Madrid tonight",
        "{first} and I are going to the Bernabéu",
        "la Sra. {last} del banco no contesta nunca",
        "enhorabuena a {full} por el ascenso",
    ],
    "pt_BR": [
        "Ontem jantei com {full}, muito bom",
        "{first} disse que o voo pra Recife atrasou de novo",
        "meu amigo {first_lower} comprou um carro novo",
        "Valeu {first} pela carona!",
        "Café com {full} na Paulista ☕",
        "Feliz aniversário {first}! 🎉",
        "churrasco with {full} this Sunday",
        "{first} and I are going to the Maracanã",
        "a Dona {last} do condomínio reclamou de novo",
        "parabéns a {full} pela formatura",
    ],
    "ru_RU": [
        "Вчера ужинал с {full}, было весело",
        "{first} говорит, что поезд в Москву опять опаздывает",
        "мой друг {first} купил новую машину",
        "Спасибо, {first}, за помощь!",
        "Кофе с {full} на Арбате ☕",
        "С днём рождения, {first}! 🎉",
        "dinner with {full} in Moscow tonight",
        "{first} and I are flying to Sochi",
        "встретил {full} в метро",
        "поздравляю {full} с победой",
    ],
    "zh_CN": [
        "昨天和{full}一起吃饭，很开心",
        "{first}说去上海的高铁又晚点了",
        "我的朋友{first}买了新手机",
        "谢谢{first}帮忙！",
        "和{full}在星巴克喝咖啡☕",
        "祝{first}生日快乐！🎉",
        "dinner with {full} in Beijing tonight",
        "{first} and I are flying to Shenzhen",
        "今天在地铁上遇到了{full}",
        "恭喜{full}拿到offer",
    ],
    "tr_TR": [
        "Dün akşam {full} ile yemek yedik",
        "{first} İzmir treninin yine rötar yaptığını söylüyor",
        "arkadaşım {first_lower} yeni araba aldı",
        "Teşekkürler {first}!",
        "{full} ile Kadıköy'de kahve ☕",
        "İyi ki doğdun {first}! 🎉",
        "dinner with {full} in Istanbul tonight",
        "{first} and I are going to the derby",
        "{last} Hanım bankadan hiç dönmedi",
        "tebrikler {full}, harika iş",
    ],
}

# clean posts per locale: nothing identifies a private person (brands, places, prices, times)
CLEAN: dict[str, list[str]] = {
    "en_US": [
        "RT if your flight got delayed too lol",
        "self driving cars....and nobody asked for them",
        "Paid $1,299.99 for this iPhone and the battery dies by 3pm",
        "UA 508 boarding at 10:45, gate B12, 40 min late",
        "Christmas Eve flight to Denver, wish me luck",
        "Apple really said no headphone jack again",
        "The Lakers lost 98-104, I can't",
        "Landed in Jackson at 6:30am, freezing",
        "Season 3 drops Friday at 9 PM ET",
        "coffee was $4.50 and still terrible",
        "Delta upgraded me to first class!! best day",
        "Tesla stock up 12% since Monday",
    ],
    "en_GB": [
        "RT: trains to Leeds cancelled again",
        "Waited 45 mins for the 7:15...and it never came",
        "£3.50 for a flat white in London is daylight robbery",
        "BA 117 to JFK delayed 2 hours",
        "Boxing Day sales at Next, absolute chaos",
        "Manchester United 2-1 Chelsea, get in",
        "Bank Holiday Monday and it's raining, of course",
        "Virgin Media down again in Bristol",
        "Tea at 4pm, dinner at 7, bed by 10",
        "Christmas Eve at the pub, tradition",
        "Apple Store on Regent Street was heaving",
        "Wimbledon starts Monday, strawberries ready",
    ],
    "de_DE": [
        "Der ICE 578 nach Hamburg hat 40 Minuten Verspätung",
        "Heute um 19:30 Uhr Tatort, wie jeden Sonntag",
        "Kaffee für 3,50 € am Bahnhof ist frech",
        "Die Bahn streikt schon wieder...und keiner sagt Bescheid",
        "Lufthansa LH 454 nach San Francisco pünktlich gelandet",
        "Weihnachtsmarkt in Köln war heute Abend voll",
        "Bayern gewinnt 3:1 gegen Dortmund",
        "Neues Handy von Samsung für 899 € gekauft",
        "Der Winter in Berlin ist einfach grau",
        "Frühstück im Café Frank am Markt, bestes Croissant",
        "RT Die Telekom hat schon wieder Störung",
        "Ab Montag gilt der neue Fahrplan",
    ],
    "nl_NL": [
        "De trein van 8:12 naar Utrecht is weer uitgevallen",
        "KLM KL 1234 naar Oslo vertrekt om 14:05",
        "Koffie voor €2,80 bij de NS, prima",
        "Koningsdag in Amsterdam was weer een feest",
        "Ajax wint met 2-0 van PSV",
        "Regen regen regen...en morgen weer",
        "Albert Heijn heeft de prijzen weer verhoogd",
        "RT wie gaat er naar Lowlands dit jaar?",
        "Sinterklaas komt zaterdag aan in Scheveningen",
        "Nieuwe iPhone voor 1.029 euro, nee dank je",
    ],
    "it_IT": [
        "Il Frecciarossa 9621 per Milano ha 30 minuti di ritardo",
        "Caffè a 1,20 € al bar, come sempre",
        "Juventus-Inter 1-1, che partita",
        "Alitalia AZ 610 per New York cancellato",
        "Natale a Firenze, che atmosfera",
        "Aperitivo alle 19:00 in Piazza Navona",
        "RT sciopero dei treni venerdì",
        "Ho comprato un Samsung per 649 euro...mai più",
        "Ferragosto al mare, traffico infinito",
        "La Ferrari ha vinto a Monza!",
    ],
    "pl_PL": [
        "Pociąg IC 3510 do Krakowa spóźniony 50 minut",
        "Kawa za 12 zł na lotnisku to przesada",
        "Legia wygrała 2:0 z Lechem",
        "LOT LO 281 do Chicago wystartował o 13:40",
        "Wigilia u babci w Zakopanem",
        "RT kto idzie na Open'er w tym roku?",
        "Biedronka ma promocję na masło...znowu",
        "Nowy iPhone za 5 499 zł, szok",
        "Majówka nad morzem w Sopocie",
        "Mecz o 20:45 w Polsacie",
    ],
    "fr_FR": [
        "Le TGV 6611 pour Lyon a 25 minutes de retard",
        "Un café à 2,50 € à Paris, ça va encore",
        "Air France AF 084 pour San Francisco annulé",
        "Le PSG gagne 3-0 contre Marseille",
        "Réveillon de Noël à Strasbourg, magnifique",
        "Grève SNCF jeudi...encore",
        "RT qui va à Roland-Garros cette année ?",
        "Rendez-vous à 14h30 devant la gare",
        "La Tour Eiffel illuminée ce soir",
        "Nouvel iPhone à 1 229 €, non merci",
    ],
    "es_ES": [
        "El AVE 3172 a Sevilla sale con 20 minutos de retraso",
        "Un café por 1,50 € en Madrid, bien",
        "Iberia IB 6251 a Nueva York cancelado",
        "El Real Madrid gana 2-1 al Barça",
        "Nochebuena en Valencia con la familia",
        "Huelga de Renfe el lunes...otra vez",
        "RT quién va al Primavera Sound?",
        "Quedamos a las 21:30 en la Puerta del Sol",
        "Las Fallas empiezan el viernes",
        "Nuevo iPhone por 1.199 €, ni loco",
    ],
    "pt_BR": [
        "Voo G3 1420 pra Recife atrasado 1 hora",
        "Café por R$ 8,50 no aeroporto, absurdo",
        "Flamengo 2x1 Palmeiras, que jogo",
        "Carnaval no Rio começa sexta",
        "Trânsito na Marginal às 18h, sempre",
        "RT quem vai no Rock in Rio?",
        "iPhone novo por R$ 9.999...não dá",
        "Natal em Gramado, que lindo",
        "Show às 22:00 no Maracanã",
        "Promoção da Magalu de novo",
    ],
    "ru_RU": [
        "Сапсан 752 в Петербург опаздывает на 20 минут",
        "Кофе за 250 ₽ в аэропорту, дорого",
        "Спартак выиграл 2:1 у Зенита",
        "Аэрофлот SU 100 в Нью-Йорк задерживается",
        "Новый год в Москве, салют в 00:00",
        "RT кто идёт на концерт в субботу?",
        "Купил iPhone за 99 990 ₽...зачем",
        "Зима в Сибири, минус 30",
        "Встреча в 19:00 у метро",
        "Яндекс опять поднял цены",
    ],
    "zh_CN": [
        "去上海的G7次高铁晚点了30分钟",
        "机场一杯咖啡38元，太贵了",
        "国航CA981飞纽约延误两小时",
        "春节回北京，车票好难买",
        "RT 谁去看周末的演唱会？",
        "新iPhone卖7999元，算了",
        "晚上8点在三里屯见",
        "华为新手机发布会明天开始",
        "上海今天下雨...又下雨",
        "中秋节快乐！",
    ],
    "tr_TR": [
        "İzmir'e giden tren 40 dakika rötarlı",
        "Havalimanında kahve 120 TL, pahalı",
        "Galatasaray 2-1 Fenerbahçe, ne maçtı",
        "THY TK 1 New York uçuşu ertelendi",
        "Bayramda Antalya'ya gidiyoruz",
        "RT hafta sonu konsere kim geliyor?",
        "Yeni iPhone 64.999 TL...yok artık",
        "Saat 20:30'da Kadıköy'de buluşalım",
        "İstanbul'da trafik yine felç",
        "Turkcell yine zam yaptı",
    ],
}

# clean posts whose capitalised words are a niche's public vocabulary: given with the counts
# of distinct authors that used each word in that niche's timeline
VOCAB_CLEAN = [
    ("de_DE", "Frank hat die besten Croissants in Kreuzberg", {"Frank": 14, "Kreuzberg": 9}),
    ("en_US", "Frank makes the best flat white on 5th street", {"Frank": 11}),
    (
        "en_US",
        "Brady threw for 300 yards and Belichick still frowned",
        {"Brady": 240, "Belichick": 90},
    ),
    ("en_US", "Tom Brady knew about the balls, no way he didn't", {"Tom": 120, "Brady": 240}),
    ("en_US", "Tim Cook on stage again, same slides as last year", {"Tim": 40, "Cook": 38}),
    ("en_US", "Thanks JetBlue, great crew on this one", {"JetBlue": 300}),
    ("en_US", "Delta lost my bag again, thanks Delta", {"Delta": 310}),
    ("en_GB", "Jamie Oliver's new place in Soho is overrated", {"Jamie": 22, "Oliver": 25}),
    ("en_US", "Goodell suspended him for 4 games, unreal", {"Goodell": 60}),
    ("it_IT", "Chiara Ferragni ha lanciato un nuovo profumo", {"Chiara": 30, "Ferragni": 28}),
    ("fr_FR", "Mbappé a encore marqué, incroyable", {"Mbappé": 80}),
    ("es_ES", "Ancelotti ha puesto a Modric de titular", {"Ancelotti": 33, "Modric": 41}),
    ("pt_BR", "Neymar machucado de novo, que fase", {"Neymar": 120}),
    ("nl_NL", "Max Verstappen wint weer in Zandvoort", {"Max": 60, "Verstappen": 58}),
    ("pl_PL", "Lewandowski strzelił dwa gole dla Barcelony", {"Lewandowski": 70}),
    (
        "en_US",
        "Coachella lineup with Beyonce and Kendrick announced",
        {"Beyonce": 44, "Kendrick": 30},
    ),
]

DOMAINS = {
    "en_US": ["gmail.com", "yahoo.com", "outlook.com", "comcast.net"],
    "en_GB": ["btinternet.com", "gmail.com", "hotmail.co.uk", "example.co.uk"],
    "de_DE": ["web.de", "gmx.de", "t-online.de"],
    "nl_NL": ["ziggo.nl", "kpnmail.nl", "gmail.com"],
    "it_IT": ["libero.it", "gmail.com", "tiscali.it"],
    "pl_PL": ["wp.pl", "onet.pl", "o2.pl"],
    "fr_FR": ["orange.fr", "free.fr", "laposte.net"],
    "es_ES": ["telefonica.es", "gmail.com", "hotmail.es"],
    "pt_BR": ["uol.com.br", "bol.com.br", "gmail.com"],
    "ru_RU": ["yandex.ru", "mail.ru", "rambler.ru"],
    "zh_CN": ["qq.com", "163.com", "126.com"],
    "tr_TR": ["hotmail.com", "gmail.com", "yandex.com.tr"],
}

EMAIL_CUES = {
    "en_US": ["email me at {e} for the tickets", "questions? {e}", "reach me: {e}"],
    "en_GB": ["drop me a line at {e}", "CV to {e} please", "contact {e} for details"],
    "de_DE": ["Schreibt mir an {e}", "Bewerbungen bitte an {e}", "Mail: {e}"],
    "nl_NL": ["Mail me op {e}", "vragen? {e}", "stuur je cv naar {e}"],
    "it_IT": ["Scrivetemi a {e}", "info: {e}", "mandate il cv a {e}"],
    "pl_PL": ["Piszcie na {e}", "kontakt: {e}", "CV proszę na {e}"],
    "fr_FR": ["Écrivez-moi à {e}", "contact : {e}", "envoyez vos CV à {e}"],
    "es_ES": ["Escribidme a {e}", "contacto: {e}", "mandad el cv a {e}"],
    "pt_BR": ["Me manda email: {e}", "contato {e}", "currículo pra {e}"],
    "ru_RU": ["Пишите на {e}", "контакт: {e}", "резюме на {e}"],
    "zh_CN": ["请发邮件到{e}", "联系邮箱：{e}", "简历发到 {e}"],
    "tr_TR": ["Bana {e} adresinden ulaşın", "iletişim: {e}", "CV'nizi {e} adresine"],
}


# obfuscations people use (the value is local, domain labels, and suffix labels)
def obfuscate(local: str, domain: str, style: int) -> str:
    labels = domain.split(".")
    joins = {
        0: ("@", "."),
        1: (" [at] ", " [dot] "),
        2: ("(at)", "."),
        3: (" at ", " dot "),
        4: (" @ ", " . "),
        5: ("＠", "."),
        6: (" {at} ", " {dot} "),
        7: (" AT ", " DOT "),
        8: (" [at] ", "."),
        9: (" (at) ", " (dot) "),
        10: ("<at>", "<dot>"),
        11: (" [@] ", " [.] "),
        12: ("＠", "．"),
        13: (" [ at ] ", " [ dot ] "),
        14: (" -at- ", " -dot- "),
        15: ("(at)", "(dot)"),
    }
    at, dot = joins[style]
    return local + at + dot.join(labels)


def luhn_complete(prefix: str, length: int) -> str:
    digits = prefix + "".join(str(R.randint(0, 9)) for _ in range(length - len(prefix) - 1))
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            d -= 9 if d > 9 else 0
        total += d
    return digits + str((10 - total % 10) % 10)


def iban(country: str, bban: str) -> str:
    rearranged = bban + country + "00"
    num = int("".join(str(int(c, 36)) for c in rearranged))
    check = 98 - num % 97
    return f"{country}{check:02d}{bban}"


def digits(n: int) -> str:
    return "".join(str(R.randint(0, 9)) for _ in range(n))


def letters(n: int) -> str:
    return "".join(R.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(n))


def grouped(value: str, size: int = 4) -> str:
    return " ".join(value[i : i + size] for i in range(0, len(value), size))


IBAN_BBAN = {
    "de_DE": lambda: iban("DE", digits(18)),
    "en_GB": lambda: iban("GB", "NWBK" + digits(14)),
    "nl_NL": lambda: iban("NL", "ABNA" + digits(10)),
    "it_IT": lambda: iban("IT", "X" + digits(10) + digits(12)),
    "pl_PL": lambda: iban("PL", digits(24)),
    "fr_FR": lambda: iban("FR", digits(10) + digits(11) + digits(2)),
    "es_ES": lambda: iban("ES", digits(20)),
    "pt_BR": lambda: iban("BR", digits(8) + digits(5) + digits(10) + "C1"),
    "tr_TR": lambda: iban("TR", digits(5) + "0" + digits(16)),
    "en_US": lambda: iban("CH", digits(5) + digits(12)),  # a US account abroad
    "ru_RU": lambda: iban("BE", digits(12)),
    "zh_CN": lambda: iban("PT", digits(21)),
}
IBAN_SENTENCES = [
    "pls send the rent to {v}, thanks",
    "IBAN: {v}",
    "wrong account! it's {v} not the old one",
    "Überweisung bitte an {v}",
    "my iban is {v} if anyone wants to chip in for the gift",
]

CARD_PREFIX = [
    ("4", 16),
    ("51", 16),
    ("55", 16),
    ("2221", 16),
    ("34", 15),
    ("37", 15),
    ("6011", 16),
    ("4", 16),
]
CARD_SENTENCES = [
    "lol my card got declined again: {v}",
    "charged twice on {v}, call me back",
    "card number {v} exp 04/27, is this a scam site?",
    "paid with {v} and still no tickets",
    "Kartennummer {v} wurde gesperrt",
]


def card_text() -> str:
    prefix, length = R.choice(CARD_PREFIX)
    number = luhn_complete(prefix, length)
    style = R.randrange(3)
    if length == 15:  # Amex groups 4-6-5
        parts = [number[:4], number[4:10], number[10:]]
        return [" ".join(parts), "-".join(parts), number][style]
    return [grouped(number), "-".join(number[i : i + 4] for i in range(0, 16, 4)), number][style]


def pesel() -> str:
    base = f"{R.randint(50, 99):02d}{R.randint(1, 12):02d}{R.randint(1, 28):02d}{digits(4)}"
    w = [1, 3, 7, 9, 1, 3, 7, 9, 1, 3]
    s = sum(int(c) * k for c, k in zip(base, w, strict=True))
    return base + str((10 - s % 10) % 10)


def nif() -> str:
    n = R.randint(10_000_000, 99_999_999)
    return f"{n}{'TRWAGMYFPDXBNJZSQVHLCKE'[n % 23]}"


def nhs() -> str:
    while True:
        base = digits(9)
        s = sum(int(c) * (10 - i) for i, c in enumerate(base))
        check = 11 - s % 11
        if check == 11:
            check = 0
        if check != 10:
            v = base + str(check)
            return f"{v[:3]} {v[3:6]} {v[6:]}"


def tckn() -> str:
    d = [R.randint(1, 9)] + [R.randint(0, 9) for _ in range(8)]
    d10 = ((d[0] + d[2] + d[4] + d[6] + d[8]) * 7 - (d[1] + d[3] + d[5] + d[7])) % 10
    d.append(d10)
    d.append(sum(d) % 10)
    return "".join(map(str, d))


def ssn() -> str:
    area = R.choice([n for n in range(1, 900) if n != 666])
    return f"{area:03d}-{R.randint(1, 99):02d}-{R.randint(1, 9999):04d}"


def nino() -> str:
    first = R.choice("ABCEGHJKLMNOPRSTWXYZ")
    second = R.choice("ABCEGHJKLMNPRSTWXYZ")
    if first + second in {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"}:
        return nino()
    d = digits(6)
    return R.choice(
        [
            f"{first}{second}{d}{R.choice('ABCD')}",
            f"{first}{second} {d[:2]} {d[2:4]} {d[4:]} {R.choice('ABCD')}",
        ]
    )


# the codice fiscale's values for characters in odd positions (digits, then A-Z)
_CF_ODD_DIGITS = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21]
_CF_ODD_LETTERS = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16]
_CF_ODD_LETTERS += [10, 22, 25, 24, 23]
_CF_ODD = dict(
    zip("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", [*_CF_ODD_DIGITS, *_CF_ODD_LETTERS], strict=True)
)


def _cf_part(word: str, *, given: bool) -> str:
    w = "".join(ch for ch in word.upper() if ch.isalpha() and ch.isascii())
    cons = [c for c in w if c not in "AEIOU"]
    vows = [c for c in w if c in "AEIOU"]
    if given and len(cons) >= 4:
        return cons[0] + cons[2] + cons[3]
    return ("".join(cons + vows) + "XXX")[:3]


def codice_fiscale() -> str:
    """A codice fiscale derived from an Italian name as the real ones are (surname and name
    consonants, then vowels), with its check letter."""
    given, surname = R.choice(NAMES["it_IT"][0]).split(" ", 1)
    body = (
        _cf_part(surname, given=False)
        + _cf_part(given, given=True)
        + f"{R.randint(50, 99):02d}"
        + R.choice("ABCDEHLMPRST")
        + f"{R.randint(1, 28) + R.choice([0, 40]):02d}"
        + R.choice(["H501", "F205", "L219", "F839", "A944"])
    )
    s = 0
    for i, ch in enumerate(body):
        if i % 2 == 0:
            s += _CF_ODD[ch]
        else:
            s += int(ch) if ch.isdigit() else ord(ch) - ord("A")
    return body + chr(ord("A") + s % 26)


_VD = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]
_VP = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
]
_VINV = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9]


def aadhaar() -> str:
    base = str(R.randint(2, 9)) + digits(10)
    c = 0
    for i, ch in enumerate(reversed(base)):
        c = _VD[c][_VP[(i + 1) % 8][int(ch)]]
    v = base + str(_VINV[c])
    return f"{v[:4]} {v[4:8]} {v[8:]}"


NATIONAL_IDS = {
    "en_US": [
        ("my SSN is {v}, is that safe to give the landlord?", ssn),
        ("SSN {v} on the form, ugh", ssn),
    ],
    "en_GB": [
        ("NI number {v} for the new job form", nino),
        ("NHS number {v}, appointment at 3", nhs),
    ],
    "es_ES": [("mi DNI es {v}, me lo piden para todo", nif), ("DNI: {v}", nif)],
    "pl_PL": [("PESEL {v} do formularza", pesel), ("mój pesel to {v}", pesel)],
    "tr_TR": [("TC kimlik no: {v}", tckn), ("kimlik numaram {v}", tckn)],
    "it_IT": [("codice fiscale {v} per la palestra", codice_fiscale), ("CF: {v}", codice_fiscale)],
    "en_IN": [("Aadhaar {v} linked to my bank", aadhaar), ("my aadhaar number is {v}", aadhaar)],
}

PHONES = {
    "en_US": ["+1 (415) 555-{d4}", "415.555.{d4}", "(312) 555-{d4}", "+1 646 555 {d4}"],
    "en_GB": ["+44 7700 900{d3}", "07700 900 {d3}", "+44 (0)20 7946 {d4}", "020 7946 {d4}"],
    "de_DE": ["+49 30 {d8}", "+49 (0)151 {d4} {d4}", "0151 {d8}", "030/{d4} {d4}"],
    "nl_NL": ["+31 6 {d8}", "06-{d8}", "+31 (0)20 {d3} {d4}", "06 {d2} {d2} {d2} {d2}"],
    "it_IT": ["+39 347 {d3} {d4}", "347 {d3} {d4}", "+39 06 {d4} {d4}", "333.{d3}.{d4}"],
    "pl_PL": ["+48 512 {d3} {d3}", "512-{d3}-{d3}", "+48 22 {d3} {d2} {d2}", "601 {d3} {d3}"],
    "fr_FR": [
        "+33 6 {d2} {d2} {d2} {d2}",
        "06 {d2} {d2} {d2} {d2}",
        "06.{d2}.{d2}.{d2}.{d2}",
        "+33 (0)1 {d2} {d2} {d2} {d2}",
    ],
    "es_ES": ["+34 612 {d2} {d2} {d2}", "612 {d3} {d3}", "+34 91 {d3} {d2} {d2}", "699{d6}"],
    "pt_BR": ["+55 11 9{d4}-{d4}", "(11) 9{d4}-{d4}", "+55 (21) 9{d4}-{d4}", "11 9{d8}"],
    "ru_RU": [
        "+7 912 {d3}-{d2}-{d2}",
        "8 (912) {d3}-{d2}-{d2}",
        "+7 (495) {d3}-{d2}-{d2}",
        "+79{d9}",
    ],
    "zh_CN": ["+86 138 {d4} {d4}", "138{d8}", "+86 10 {d4} {d4}", "139-{d4}-{d4}"],
    "tr_TR": [
        "+90 532 {d3} {d2} {d2}",
        "0532 {d3} {d2} {d2}",
        "+90 (212) {d3} {d2} {d2}",
        "0 (532) {d3} {d4}",
    ],
}
PHONE_SENTENCES = {
    "en_US": "text me at {v} if you're still selling the ps5",
    "en_GB": "ring me on {v} when you land",
    "de_DE": "Ruf mich an unter {v}",
    "nl_NL": "bel me even op {v}",
    "it_IT": "chiamami al {v}",
    "pl_PL": "dzwoń na {v}",
    "fr_FR": "appelle-moi au {v}",
    "es_ES": "llámame al {v}",
    "pt_BR": "me liga no {v}",
    "ru_RU": "звони мне на {v}",
    "zh_CN": "打我电话{v}",
    "tr_TR": "beni {v} numaradan ara",
}


def fill_digits(pattern: str) -> str:
    out = pattern
    for n in (9, 8, 6, 4, 3, 2):
        slot = "{d" + str(n) + "}"
        while slot in out:
            out = out.replace(slot, str(R.randint(1, 9)) + digits(n - 1), 1)
    return out


ADDRESSES = {
    "en_US": [
        "742 Evergreen Terrace",
        "1600 Pennsylvania Ave NW, Washington, DC 20500",
        "350 5th Ave, New York, NY 10118",
        "4059 Mt Lee Dr",
        "12 Oak Street, Apt 4B",
        "2211 N First St, San Jose, CA 95131",
    ],
    "en_GB": [
        "221B Baker Street",
        "10 Downing Street, London SW1A 2AA",
        "Flat 3, 12 Hill Road",
        "47 Kingsway, Manchester M19 2LL",
        "8 Castle Lane, Bristol BS1 4DJ",
    ],
    "de_DE": [
        "Hauptstraße 5, 10115 Berlin",
        "Musterstr. 12a",
        "Am Markt 3, 28195 Bremen",
        "Lindenallee 44",
        "Schillerplatz 7, 70173 Stuttgart",
    ],
    "nl_NL": [
        "Keizersgracht 123, 1015 CJ Amsterdam",
        "Dorpsstraat 12",
        "Oudegracht 231, Utrecht",
        "Laan van Meerdervoort 50",
        "Stationsweg 8, 2312 AT Leiden",
    ],
    "it_IT": [
        "Via Roma 10, 00184 Roma",
        "Piazza Navona 45",
        "Corso Buenos Aires 33, Milano",
        "Via dei Mille 21",
        "Viale Europa 120",
    ],
    "pl_PL": [
        "ul. Marszałkowska 10/12, 00-590 Warszawa",
        "al. Jerozolimskie 44",
        "ul. Floriańska 3, Kraków",
        "ul. Długa 17/4",
        "os. Tysiąclecia 28",
    ],
    "fr_FR": [
        "12 rue de la Paix, 75002 Paris",
        "3 bis avenue Victor Hugo",
        "8 boulevard Haussmann",
        "27 rue Sainte-Catherine, 33000 Bordeaux",
        "5 place Bellecour, Lyon",
    ],
    "es_ES": [
        "Calle Mayor 5, 28013 Madrid",
        "C/ Alcalá 20, 3º B",
        "Avenida de la Constitución 12",
        "Paseo de Gracia 43, Barcelona",
        "Plaza de España 1",
    ],
    "pt_BR": [
        "Rua Augusta 1500, São Paulo",
        "Av. Paulista, 1000",
        "Rua das Flores 250, apto 32",
        "Avenida Atlântica 1702, Rio de Janeiro",
        "Travessa do Carmo 15",
    ],
    "ru_RU": ["ул. Тверская, д. 7", "Невский проспект 28", "ул. Ленина 15, кв. 4"],
    "tr_TR": ["Atatürk Cad. No: 15", "Bağdat Caddesi No:120 Kadıköy", "İstiklal Cad. No 45"],
}
ADDRESS_SENTENCES = {
    "en": [
        "party at my place, {v}, bring snacks",
        "moved to {v} finally!!",
        "package stuck at {v} for a week",
        "anyone near {v}? my cat got out",
    ],
    "de": [
        "Party bei mir, {v}, bringt was mit",
        "Wir sind umgezogen: {v}",
        "Paket liegt seit Tagen bei {v}",
    ],
    "nl": ["feestje bij mij, {v}", "we zijn verhuisd naar {v}", "pakketje ligt bij {v}"],
    "it": ["festa da me, {v}", "ci siamo trasferiti in {v}", "il pacco è fermo in {v}"],
    "pl": ["impreza u mnie, {v}", "przeprowadziłam się na {v}", "paczka czeka na {v}"],
    "fr": ["soirée chez moi, {v}", "on a déménagé au {v}", "colis bloqué au {v}"],
    "es": ["fiesta en mi casa, {v}", "nos hemos mudado a {v}", "el paquete está en {v}"],
    "pt": ["festa lá em casa, {v}", "mudamos pra {v}", "encomenda parada na {v}"],
    "ru": ["вечеринка у меня, {v}", "мы переехали: {v}"],
    "tr": ["parti bizde, {v}", "taşındık: {v}"],
}

DOB = {
    "en_US": [
        "born on {d}, now I feel old",
        "DOB: {d}",
        "my birthday is {d} btw",
        "date of birth {d} on the form",
    ],
    "en_GB": ["born {d} and still can't cook", "D.O.B. {d}"],
    "de_DE": ["geboren am {d}", "Geburtsdatum: {d}"],
    "nl_NL": ["geboren op {d}", "geboortedatum {d}"],
    "it_IT": ["nato il {d}", "data di nascita: {d}"],
    "pl_PL": ["urodzony {d}", "data urodzenia: {d}"],
    "fr_FR": ["née le {d}", "date de naissance : {d}"],
    "es_ES": ["nací el {d}", "fecha de nacimiento: {d}"],
    "pt_BR": ["nasci em {d}", "data de nascimento: {d}"],
    "ru_RU": ["родился {d}", "дата рождения: {d}"],
    "zh_CN": ["出生日期：{d}", "我的生日是{d}"],
    "tr_TR": ["doğum tarihi: {d}", "{d} doğumluyum"],
}
MONTHS = {
    "en": ["January", "March", "July", "October"],
    "de": ["März", "Juli"],
    "fr": ["mars", "juillet"],
    "es": ["marzo", "julio"],
    "it": ["marzo", "luglio"],
    "nl": ["maart", "juli"],
    "pt": ["março", "julho"],
    "pl": ["marca", "lipca"],
    "ru": ["марта", "июля"],
    "tr": ["Mart", "Temmuz"],
}


def date_text(locale: str) -> str:
    y, m, d = R.randint(1950, 2008), R.randint(1, 12), R.randint(1, 28)
    lang = locale[:2]
    style = R.randrange(3)
    if lang == "zh":
        return f"{y}年{m}月{d}日"
    if style == 0:
        if locale == "en_US":
            return f"{m:02d}/{d:02d}/{y}"
        sep = {"de": ".", "pl": ".", "ru": ".", "tr": ".", "nl": "-"}.get(lang, "/")
        return f"{d:02d}{sep}{m:02d}{sep}{y}"
    if style == 1:
        return f"{y}-{m:02d}-{d:02d}"
    month = R.choice(MONTHS[lang])
    if lang == "en":
        return f"{month} {d}, {y}" if locale == "en_US" else f"{d} {month} {y}"
    if lang in ("es", "pt"):
        return f"{d} de {month} de {y}"
    if lang == "de":
        return f"{d}. {month} {y}"
    return f"{d} {month} {y}"


HANDLES = [
    "jsmith",
    "jane_doe92",
    "MikeT_",
    "kaylaxo",
    "dan.codes",
    "TheRealBecca",
    "tomasz_k",
    "sjoerdvdb",
    "giuli4",
    "k8lyn",
    "jp_rossi",
    "ahmet1907",
]
HANDLE_SENTENCES = [
    "h/t {h} for the link",
    "follow {h} for more of this",
    "cc {h} you were right",
    "HT {h}, great thread",
    "s/o to {h} for the tip",
    "via {h}",
    "thanks @{h} for the ride",
    "@{h} did you get my DM?",
    "cc: {h} {h2}",
    "shoutout to {h} who called it first",
]

URLS = [
    "https://t.co/Xy7Pq2LmZa",
    "bit.ly/3kLmN0p",
    "www.example-shop.de/angebot",
    "https://instagram.com/p/Cx9kLmQ",
    "http://myblog.wordpress.com/2016/03/trip",
    "https://www.facebook.com/groups/123456789",
]
URL_SENTENCES = [
    "pics from the weekend {v}",
    "Fotos hier: {v}",
    "la foto è qui {v}",
    "mi foto: {v}",
    "zdjęcia: {v}",
]

IPS = [
    "192.168.1.12",
    "203.0.113.45",
    "10.0.0.138",
    "198.51.100.7:8080",
    "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
    "2001:db8::ff00:42:8329",
    "fe80::1ff:fe23:4567:890a",
    "2a02:8108:1c0:5e00::2",
    "81.2.69.160",
    "2001:db8:3333:4444:5555:6666:7777:8888",
]
IP_SENTENCES = [
    "my server at {v} keeps getting hammered",
    "whitelist {v} pls",
    "someone from {v} keeps logging into my account",
    "Router hat die IP {v}",
    "ssh into {v} and restart it",
]


def mark(kind: str, value: str) -> str:
    return f"⟦{kind}:{value}⟧"


def record(locale: str, text: str, tags: list[str], **extra: object) -> dict[str, object]:
    digest = hashlib.sha256(text.encode()).digest()
    return {
        "locale": locale,
        "source": "synthetic",
        "split": "heldout" if digest[0] % 3 == 0 else "dev",
        "tags": tags,
        "text": text,
        **extra,
    }


def name_records() -> list[dict[str, object]]:
    out = []
    for locale, sentences in NAME_SENTENCES.items():
        full, first = NAMES[locale]
        for i, sentence in enumerate(sentences):
            for j in range(3):
                f = full[(i * 3 + j) % len(full)]
                g = first[(i * 3 + j) % len(first)]
                last = f.split()[-1]
                text = sentence.format(
                    full=mark("person", f),
                    first=mark("person", g),
                    first_lower=mark("person", g.lower()),
                    last=mark("person", last),
                )
                tags = ["name"]
                if "{first_lower}" in sentence:
                    tags.append("lowercase")
                if any(e in sentence for e in "🎉🥂🎂") or "#" in sentence:
                    tags.append("emoji_hashtag")
                if any(p in f for p in (" van ", " von ", " del ", " de ", " dos ", " den ")):
                    tags.append("particle")
                out.append(record(locale, text, tags))
    return out


def structured_records() -> list[dict[str, object]]:
    out = []
    for locale, domains in DOMAINS.items():
        full, _ = NAMES[locale]
        cues = EMAIL_CUES[locale]
        for style in range(16):
            f = full[style % len(full)]
            if not f.isascii():
                f = ["Dmitry Volkov", "Wang Wei", "Li Xiaoming", "Natalia Morozova"][style % 4]
            parts = f.lower().replace("'", "").split()
            local = R.choice(
                [
                    parts[0] + "." + parts[-1],
                    parts[0][0] + parts[-1],
                    parts[0] + str(R.randint(70, 99)),
                    parts[0] + "_" + parts[-1],
                ]
            )
            local = local.translate(str.maketrans("äöüßéèêëáíóúñç", "aouseeeeaiounc"))
            domain = domains[style % len(domains)]
            value = obfuscate(local, domain, style)
            tags = ["email", "plain" if style == 0 else "obfuscated"]
            out.append(record(locale, cues[style % len(cues)].format(e=mark("email", value)), tags))
    for locale, patterns in PHONES.items():
        for i in range(5):
            value = fill_digits(patterns[i % len(patterns)])
            text = PHONE_SENTENCES[locale].format(v=mark("phone", value))
            out.append(record(locale, text, ["phone"]))
    for locale, make in IBAN_BBAN.items():
        for i in range(3):
            value = make()
            value = grouped(value) if i != 1 else value
            sentence = IBAN_SENTENCES[(i + len(out)) % len(IBAN_SENTENCES)]
            out.append(record(locale, sentence.format(v=mark("iban", value)), ["iban"]))
    for i in range(40):
        out.append(
            record(
                "en_US" if i % 2 else "de_DE",
                CARD_SENTENCES[i % len(CARD_SENTENCES)].format(v=mark("card", card_text())),
                ["card"],
            )
        )
    for locale, items in NATIONAL_IDS.items():
        for i in range(6):
            sentence, make = items[i % len(items)]
            out.append(
                record(locale, sentence.format(v=mark("national_id", make())), ["national_id"])
            )
    for locale, addresses in ADDRESSES.items():
        sentences = ADDRESS_SENTENCES[locale[:2]]
        for i, address in enumerate(addresses):
            text = sentences[i % len(sentences)].format(v=mark("address", address))
            out.append(record(locale, text, ["address"]))
    for locale, sentences in DOB.items():
        for i in range(4):
            text = sentences[i % len(sentences)].format(d=mark("dob", date_text(locale)))
            out.append(record(locale, text, ["dob"]))
    for i, sentence in enumerate(HANDLE_SENTENCES * 4):
        h, h2 = HANDLES[i % len(HANDLES)], HANDLES[(i + 5) % len(HANDLES)]
        text = sentence.replace("@{h}", mark("handle", "@" + h)).format(
            h=mark("handle", h), h2=mark("handle", h2)
        )
        tags = ["handle", "with_at" if "@{h}" in sentence else "no_at"]
        out.append(record("en_US", text, tags))
    for url in URLS:
        for sentence in URL_SENTENCES:
            out.append(record("en_US", sentence.format(v=mark("url", url)), ["url"]))
    for ip in IPS:
        for sentence in IP_SENTENCES:
            out.append(
                record(
                    "en_US",
                    sentence.format(v=mark("ip", ip)),
                    ["ip", "ipv6" if ":" in ip.split(":8080")[0] else "ipv4"],
                )
            )
    return out


def clean_records() -> list[dict[str, object]]:
    out = [record(loc, text, ["clean"]) for loc, texts in CLEAN.items() for text in texts]
    # dates that are not birth dates stay
    for loc, text in [
        ("en_US", "concert moved to 03/12/2026, doors at 7"),
        ("de_DE", "Am 12.03.2026 ist Stadtfest"),
        ("fr_FR", "rendez-vous le 14 juillet 2026"),
        ("es_ES", "el 12 de marzo de 2026 hay huelga"),
        ("en_GB", "released 2016-03-12, still the best album"),
    ]:
        out.append(record(loc, text, ["clean", "date"]))
    for loc, text, vocab in VOCAB_CLEAN:
        out.append(record(loc, text, ["clean", "vocabulary"], vocabulary=vocab))
    return out


def main() -> None:
    rows = name_records() + structured_records() + clean_records()
    seen: set[str] = set()
    path = HERE / "pii_synthetic.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for i, row in enumerate(rows):
            if row["text"] in seen:
                continue
            seen.add(str(row["text"]))
            f.write(json.dumps({"id": f"syn-{i:04d}", **row}, ensure_ascii=False) + "\n")
    print(f"wrote {len(seen)} records to {path}")


if __name__ == "__main__":
    main()
