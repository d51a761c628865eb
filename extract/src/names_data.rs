//! Word lists for name validation, written for this crate (not copied from a data set).
//!
//! `FIRST_NAMES`: common given names across languages, so that names that look like words
//! or verb forms ("Sterling", "Ming", "Li", "Will", "Grant") are accepted.
//! `STOP_WORDS`: words that follow "I'm"/"this is" but are not names.
//! `DEMONYMS`: nationality and group words ("I am Finnish" is not a name).

pub const FIRST_NAMES: &str = "\
aaron abby abdul abdullah abe abel abigail abraham ada adam adele adeline adil aditi aditya adrian adriana adrienne agnes ahmad ahmed aidan aiden aiko aisha ajay akira al alan alana albert alberto alejandra alejandro alex alexa alexander alexandra alexis alfonso alfred ali alice alicia alina alison allan allen allison alma alvin amanda amber amelia amir amit amy ana anders andre andrea andreas andres andrew andy angel angela angelica angelo angie anil anita anjali ann anna anne annie anthony antoine anton antonio anya april archer archie ari ariana ariel arjun arnold arthur arturo arun asha ashley ashok audrey august austin ava avery axel \
barbara barry bart beatrice beau becky bella ben benjamin bernard bernice beth betty beverly bianca bill billy blake bob bobby bonnie boris brad bradley brandon brenda brent brett brian bridget brittany brooke bruce bruno bryan bryce byron \
caleb calvin cameron camila camille candice cara carl carla carlos carmen carol carole caroline carolyn carrie carter casey cassandra catherine cathy cecilia cedric celia chad chan chandra chang charles charlie charlotte chase chelsea chen cheng cheryl chester chi chloe chris christian christina christine christopher chuck cindy claire clara clarence claude claudia clay clayton cliff clifford clint clyde cody colin colleen connie connor conrad constance corey craig cristina crystal curtis cynthia \
daisy dale dallas damian damon dan dana daniel daniela danielle danny dante daphne darius darlene darnell darren darryl dave david dawn dean deanna debbie deborah debra deepak deepika delia dennis derek desmond devin devon dexter diana diane diego dimitri dina dominic don donald donna dora doris dorothy doug douglas drew duane dustin dwayne dwight dylan \
earl ed eddie edgar edith edmund eduardo edward edwin eileen elaine eleanor elena eli elias elijah elisa elizabeth ella ellen ellie elliot elliott eloise elsa emil emily emma emmanuel enrique eric erica erik erin ernest ernesto esther ethan eugene eva evan evelyn ewing \
fabian faith farah farid fatima faye felicia felix fernando fiona florence floyd frances francesca francis francisco frank franklin fred freddie frederick \
gabriel gabriela gabrielle gail gareth garrett gary gavin gene geoffrey george georgia gerald geraldine gerard gina giovanni giselle giulia glen glenn gloria gordon grace graham grant greg gregory greta guadalupe gus gustavo guy gwen \
hailey haley hamid hana hank hannah hans harold harper harriet harrison harry harvey hassan hazel heather hector heidi helen helena henry herbert herman hiro hiroshi holly hope howard hugh hugo hui hussein \
ian igor ike ilya imran ingrid irene iris irving isaac isabel isabella isabelle isaiah ismail ivan ivy \
jack jackie jackson jacob jacqueline jade jaime jake james jamie jan jane janet janice jared jasmine jason javier jay jayden jean jeanne jed jeff jeffrey jenna jennifer jenny jeremy jerome jerry jesse jessica jesus jill jim jimmy jin jo joan joanna joanne joe joel joey johanna john johnny jon jonathan jordan jorge jose joseph josephine josh joshua joy joyce juan juanita judith judy julia julian juliana julie julio june jun justin \
kai kaitlyn kamal karen kari karim karl kate katherine kathleen kathryn kathy katie katrina kay kayla keith kelly kelvin ken kendra kenji kenneth kent kerry kevin khalid kim kimberly kirk kristen kristin kurt kyle \
lana lance lara larry laura lauren laurence laurie lawrence leah lee leila lena leo leon leonard leroy leslie lester levi lewis li liam lila lillian lily lin linda lindsay lindsey ling lionel lisa liz logan lois lola lorenzo lori lorraine louis louise lucas lucia lucy luis luke luna lydia lynn \
mabel mack madeline madison mae maggie mahmoud malcolm mandy manuel marc marcel marco marcus margaret maria marian mariana marie marilyn mario marion marisa mark marlene marsha marshall martha martin marvin mary mason mateo matt matthew maureen maurice max maxine maya megan mei melanie melinda melissa melvin mia michael michaela michel michele michelle miguel mike mila miles milton min mindy ming miranda miriam misty mitchell mohamed mohammad mohammed moira molly monica morgan moses muhammad murray myra \
nadia nancy naomi natalia natalie natasha nathan nathaniel neal ned neil nelson nicholas nick nicole nikhil nikita nina noah noel nora norma norman \
olga oliver olivia omar oscar otto owen \
pablo paige pam pamela paolo patricia patrick patty paul paula pauline pedro peggy penny percy pete peter philip phillip phyllis pierre pradeep prakash priya priyanka \
qiang quentin quinn \
rachel rafael raj rajesh ralph ramon randall randy raquel rashid raul ray raymond rebecca reed regina reginald reid renee rex rhonda ricardo richard rick ricky rita rob robert roberta roberto robin rocco rodney roger roland ron ronald ronnie rosa rose rosemary ross roy ruby rudy russell ruth ryan \
sabrina sally salvador sam samantha samir samuel sandra sandy sanjay santiago sara sarah sasha saul scott sean sebastian selena serena sergei sergio seth shane shannon sharon shawn sheila shelby shelly sherry shirley sid sidney simon simone sofia sonia sophia sophie stacy stan stanley stella stephanie stephen sterling steve steven stuart sue sunil susan suzanne sven sylvia \
tamara tammy tanya tara tariq ted teresa terrence terri terry tess thomas tiffany tim timothy tina toby todd tom tommy toni tony tracy travis trevor troy tyler \
uma ursula \
valentina valerie vanessa vera veronica vicki victor victoria vijay vikram vincent viola violet virginia vivian vladimir \
wade walker wallace walter wanda warren wayne wei wendy wes wesley whitney will william willie wilson winston \
xavier xin xiao \
yan yang yasmin yolanda yosef yuki yuri yusuf yvonne \
zach zachary zane zara zhang zhen zoe\
";

pub const STOP_WORDS: &str = "\
a about above across actually addicted afraid after again against ago all allergic almost alone along already also always am an and another any anyone anything anyway around as asking at available aware away \
back bad basically be because been before behind being below best better between big black blessed both bout brand broke busy but by \
calling can cannot certainly checking client closed coming completely concerned confused contacting could curious currently customer \
dad daughter dead definitely did do does doing done down dying \
each early either else emailing engaged english enquiring even ever every everyone everything exactly excited extremely \
fan far feeling few finally finna fine first for forever free friend from full fully funny further \
gay getting glad going gone gonna good got gotta great guy \
had half happy hardly has have having he headed heading hello her here hers herself hey hi him himself his home honestly hopefully how however huge human hungry husband \
i if ill in inquiring inside interested into is it its itself \
january february march july september october november december monday tuesday wednesday thursday friday saturday sunday today tomorrow tonight yesterday \
just \
kind kinda \
last late later least leaving less like likely literally little living local looking lost lot lots \
mad made madam make man manager many married maybe me member mine missing mom more most mostly mother moving mr mrs ms much must my myself \
near nearly need never new next nice no nobody none not nothing now \
of off officially ok okay old on once one only open or other our out outside over own \
part past perfect person planning please pleased pretty probably proud \
quite \
ready real really reaching rep representative retired right \
sad safe same scared second see seeking self selling seriously she should sick since single sir sister so some somebody someone something sometimes son soon sorry sort sorta starting still stuck such super support sure \
taking talking team than thank thankful thanks that the their them then there these they thing thinking this those though through tired to too totally trying tryna two \
under unemployed unless until up upset us used using usually \
very \
waiting want wanting was we well were what when where which while white who whole why wife will with within without woman wondering working worried would wrong \
yeah yes yet you young your yours yourself \
inc llc ltd corp co company group gmbh plc \
ceo cfo cto director president owner founder student teacher doctor nurse engineer developer designer agent assistant sales office \
god lord jesus christmas easter \
";

pub const DEMONYMS: &str = "\
afghan african albanian algerian american arab argentinian armenian asian australian austrian aussie \
bahraini bangladeshi belgian bolivian bosnian brazilian brit british buddhist bulgarian \
canadian catholic chilean chinese colombian croatian cuban czech \
dane danish dominican dutch \
ecuadorian egyptian emirati english estonian ethiopian european \
fijian filipina filipino finnish french \
german ghanaian greek greenlander guatemalan \
haitian hawaiian hindu honduran hungarian \
icelander icelandic indian indonesian iranian iraqi irish israeli italian \
jamaican japanese jewish jordanian \
kazakh kenyan korean kurdish kuwaiti \
latin latina latino latvian lebanese lithuanian \
macedonian malaysian mexican mongolian moroccan muslim \
nepali nigerian norwegian \
omani \
pakistani palestinian paraguayan persian peruvian polish portuguese \
qatari \
romanian russian \
salvadoran samoan saudi scot scottish serbian sikh singaporean slovak slovenian somali spanish swede swedish swiss syrian \
taiwanese thai tibetan tongan tunisian turk turkish \
ukrainian uruguayan uzbek \
venezuelan vietnamese \
welsh \
yemeni\
";

/// Honorifics skipped before a name ("this is Mr. John Smith").
pub const TITLES: &[&str] = &[
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "madam", "mister",
];

/// Lower-case surname particles that may sit inside a name ("Ludwig van Beethoven").
pub const PARTICLES: &[&str] = &[
    "van", "von", "de", "der", "den", "da", "di", "del", "della", "la", "le", "du", "bin", "ibn",
    "al",
];
