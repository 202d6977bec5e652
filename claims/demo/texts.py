"""French texts of the demo case (fictitious firm, real public facts of the 2021 breach)."""

CASE_SUMMARY = (
    "À l’été 2021, les données de 1,4 million de personnes testées pour le Covid-19 en "
    "Île-de-France ont été dérobées sur un service de partage de fichiers de l’AP-HP : identité, "
    "numéro de sécurité sociale, coordonnées et résultat du test. Vous pouvez vous constituer "
    "partie civile pour obtenir réparation."
)

CASE_DESCRIPTION = """\
Le 15 septembre 2021, l’Assistance Publique – Hôpitaux de Paris a annoncé qu’une attaque
informatique avait permis de récupérer, sur un service de partage de fichiers, les données de
personnes ayant effectué un test de dépistage du Covid-19 à la mi-2020 : nom, prénom, date de
naissance, numéro de sécurité sociale, adresse, téléphone, adresse électronique, et le résultat
du test.

Le cabinet représente les personnes concernées dans une plainte avec constitution de partie civile
devant le doyen des juges d’instruction du tribunal judiciaire de Paris. Chaque partie civile
demande réparation de son préjudice personnel : préjudice moral, perte de maîtrise de ses données,
temps perdu, et le cas échéant préjudice financier ou usurpation d’identité.
"""

CASE_TEXTS = [
    (
        "privacy_notice",
        "fr",
        "Politique de confidentialité",
        "Le cabinet traite vos données pour préparer et porter votre constitution de partie civile "
        "(base légale : exécution du mandat). Elles sont chiffrées, accessibles aux seuls membres du "
        "cabinet en charge du dossier, et effacées à la fin de la procédure ou à votre retrait. Vous "
        "pouvez y accéder, les rectifier, en obtenir copie ou vous retirer depuis votre espace.",
    ),
    (
        "privacy_notice",
        "en",
        "Privacy notice",
        "The firm processes your data to prepare and carry your civil-party claim (legal basis: "
        "performance of the mandate). It is encrypted, accessible only to the firm's staff working on "
        "the case, and erased at the end of the proceedings or when you withdraw. You can access, "
        "correct, copy or withdraw it from your personal space.",
    ),
    (
        "mandate",
        "fr",
        "Mandat de représentation",
        "Je donne mandat au cabinet de me représenter et de déposer en mon nom une plainte avec "
        "constitution de partie civile, et d’accomplir tous les actes de procédure nécessaires.",
    ),
    (
        "fee_agreement",
        "fr",
        "Convention d’honoraires",
        "Honoraires forfaitaires de 40 € TTC, puis honoraire de résultat de 15 % des sommes obtenues. "
        "Aucun frais si vous bénéficiez de l’aide juridictionnelle.",
    ),
]

STATEMENT_SENTENCES = [
    "En octobre 2021, j’ai reçu un courrier de l’AP-HP m’informant que mes données avaient été volées.",
    "J’ai reçu de nombreux SMS se faisant passer pour l’Assurance maladie me demandant mes coordonnées bancaires.",
    "Un faux conseiller m’a appelé en connaissant mon numéro de sécurité sociale, ce qui m’a beaucoup inquiété.",
    "Je crains que mon résultat de test soit utilisé contre moi par un employeur ou un assureur.",
    "J’ai dû faire opposition sur ma carte bancaire après avoir cliqué sur un lien frauduleux.",
    "J’ai passé plusieurs heures à changer mes mots de passe et à surveiller mes comptes.",
    "Je dors mal depuis que je sais que mes données de santé circulent sur Internet.",
    "Une ligne téléphonique a été ouverte à mon nom chez un opérateur que je ne connais pas.",
    "Je ne réponds plus au téléphone quand je ne connais pas le numéro, par peur d’une arnaque.",
    "Mes parents âgés, testés le même jour, ont aussi reçu des messages frauduleux.",
]

CASE_ENGLISH = {
    "title": "Leak of AP-HP’s Covid-19 screening data (2021)",
    "summary": (
        "In summer 2021 the data of 1.4 million people tested for Covid-19 in the Paris region were stolen "
        "from a file-sharing service used by AP-HP, the Paris public hospitals: identity, social security "
        "number, contact details and test result. You can join the proceedings as a civil party to claim "
        "compensation."
    ),
    "description": (
        "On 15 September 2021 AP-HP announced that an attack had retrieved, from a file-sharing service, the "
        "data of people tested for Covid-19 in mid-2020: name, date of birth, social security number, "
        "address, phone, email and the test result.\n\nThe firm represents the people concerned in a "
        "complaint with civil-party claim before the senior investigating judge of the Paris court. Each "
        "civil party claims compensation for their own harm: moral harm, loss of control over their data, "
        "time lost, and where relevant financial loss or identity theft."
    ),
    "fee_summary": "A flat fee of €40 including VAT, then 15% of any sums obtained. Legal aid accepted.",
}
